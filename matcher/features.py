"""One row (a watchlist person or a published listing row) reduced to comparable values.

Shared by the index build and the matching of listing rows, so that both sides of every
comparison went through the same normalisation. Values are plain strings and ints; the index
turns them into vocabulary ids and hashes.
"""

from __future__ import annotations

import operator
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import date
from functools import lru_cache
from typing import Any

from matcher.address import address_parts
from matcher.dates import age_range, grade_range, parse_birthdate
from matcher.kana import normalize_kana
from matcher.keys import loose_kana, str_hash
from matcher.mail import normalize_email
from matcher.names import Name, normalize_name
from matcher.numerals import kanji_to_int
from matcher.phone import MAX_DIGITS, MIN_DIGITS, national_digits, phone_numbers
from matcher.postal import normalize_postal
from matcher.text import width
from matcher.variants import fold_variants

_CJK = re.compile(r"^[\u3041-\u30ff\u3400-\u9fff\uf900-\ufaff\U00020000-\U0003ffffー々〆ヶ]+$")
_KANA = re.compile(r"^[\u3041-\u30ffー]+$")

GUARDIAN, CHILD, UNBORN = 1, 2, 3
UNSPACED_NAME, UNSPACED_READING = 1, 2  # Features.unspaced bits
_GENDER = {"m": 1, "male": 1, "男": 1, "男性": 1, "1": 1, "f": 2, "female": 2, "女": 2,
           "女性": 2, "2": 2}  # fmt: skip


@dataclass(slots=True)
class Place:
    town: str = ""  # pref + city + town (with 丁目), "" if not understood
    city: str = ""  # pref + city
    block: int = 0  # hash of town + block ("7-9"), 0 if no block
    unit: int = 0  # hash of town + block + room, 0 if no room
    postal: int = 0

    def __reduce__(self) -> tuple[type[Place], tuple[Any, ...]]:
        return Place, _PLACE_FIELDS(self)


@lru_cache(maxsize=262144)
def place_of(address: str, postal: str) -> Place:
    """Where a row's address and postal code put it (cached: a listing repeats them)."""
    return place_from(address, postal)


def place_from(address: str, postal: str) -> Place:
    """:func:`place_of` uncached: the index build meets each distinct address once."""
    parts = address_parts(address) if address else None
    p = normalize_postal(postal) or (parts[7] if parts else "")
    out = Place(postal=int(p) if p.isdigit() and len(p) == 7 else 0)
    if parts is None or not parts[1]:
        return out
    a_pref, a_city, a_town, chome, block, building, a_room, _, _ = parts
    out.city = a_pref + a_city if a_pref else a_city
    if a_town:
        out.town = out.city + "|" + a_town
        # The lot: the town without its 丁目 and every number from 丁目 on, so that
        # 武庫山七丁目5番14号 and 武庫山7-5-14 file together; the room is separate.
        base = a_town
        suffix = _CHOME_SUFFIX.search(a_town)
        if suffix:  # 四丁目, or Sakai's 一丁: the number files with the lot, the name without it
            base = a_town[: suffix.start()]
            chome = chome or kanji_to_int(suffix.group(1))
        lot = _DIGITS.findall(block)
        room = a_room or _trailing_room(building)
        if not room and len(lot) == 2 and len(lot[1]) >= 3:
            # 古道町4-301: lists join the room to a one-number lot (古道町4番地 コーポ若葉 301).
            # Read that way on both sides, a 3-digit 枝番 (美和521-411) files as a room of the
            # lot 521: the same lot still meets, only two 枝番 look like one building's rooms.
            room = lot.pop()
        numbers = ([str(chome)] if chome else []) + lot
        if block and numbers:
            # Without the prefecture: lists often drop it, and city + town + lot is unique.
            key = "\x1f".join((a_city, base, *numbers))  # stable_hash of the parts
            out.block = str_hash(key)
            if room:
                out.unit = str_hash(key + "\x1f" + room)
    return out


_DIGITS = re.compile(r"[0-9]+")
_CHOME_SUFFIX = re.compile(r"([一二三四五六七八九十]+)丁目?$")


def _trailing_room(building: str) -> str:
    digits = ""
    for ch in reversed(building):
        if not ch.isdigit():
            break
        digits = ch + digits
    return digits if 2 <= len(digits) <= 5 else ""


def gender_code(s: str) -> int:
    if not s:
        return 0
    code = _GENDER_SEEN.get(s)
    if code is None:
        code = _GENDER.get(width(s).strip().lower(), 0)
        if len(_GENDER_SEEN) < 1024:
            _GENDER_SEEN[s] = code
    return code


_GENDER_SEEN: dict[str, int] = {}


@dataclass(slots=True)
class Features:
    """Normalised values of one row; "" / 0 mean unknown."""

    fam: str = ""  # kanji, variants folded
    giv: str = ""
    fam_w: str = ""  # kanji as written (old forms kept)
    giv_w: str = ""
    fam_k: str = ""  # reading, canonical katakana
    giv_k: str = ""
    fam_l: str = ""  # loose reading
    giv_l: str = ""
    order_known: bool = True  # False: a romaji name whose family/given order is a guess
    unspaced: int = 0  # written without a space, the split a guess: 1 the name, 2 the reading
    birth_lo: int = 0  # date ordinals, inclusive
    birth_hi: int = 0
    birth_precision: str = "unknown"
    age: int = -1  # only when the row gave an age
    grade: str = ""
    gender: int = 0
    place: Place | None = None
    phone: str = ""  # national digits, "?" where masked
    email: str = ""
    guardian_giv: str = ""  # the guardian's given name (kanji) and its loose reading
    guardian_giv_l: str = ""
    relationship: int = 0
    # A listing cell of several numbers: all of them, ``phone`` first (any may be the
    # person's phone or fax); () for one number or none.
    phones: tuple[str, ...] = ()

    # Listing rows normalised in worker processes come back pickled. The slots dataclass's
    # default (a Python __getstate__/__setstate__ per object) cost the parent 0.22 s per
    # 20,000 rows; the fields in order, given back to the constructor, less than half.
    def __reduce__(self) -> tuple[type[Features], tuple[Any, ...]]:
        return Features, _FEATURE_FIELDS(self)


_PLACE_FIELDS = operator.attrgetter(*(f.name for f in fields(Place)))
_FEATURE_FIELDS = operator.attrgetter(*(f.name for f in fields(Features)))


_HONORIFIC_END = ("様", "さま", "サマ", "殿", "さん", "サン", "君", "くん", "ちゃん", "氏", "御中")


@lru_cache(maxsize=262144)
def _written(part: str) -> str:
    return unicodedata.normalize("NFC", width(part))


# What the common case needs of one space-separated part of a name: its written form, whether
# it is all CJK, whether it is all kana, and its variant-folded form. Family and given names
# repeat across persons far more than whole names do, so this is kept by part.
_Part = tuple[str, bool, bool, str]
_PARTS: dict[str, _Part] = {}
_PARTS_MAX = 1 << 18  # bounded: a huge, varied listing must not grow it without end


def _part(raw: str) -> _Part:
    got = _PARTS.get(raw)
    if got is None:
        w = _written(raw)
        got = (w, _CJK.match(w) is not None, _KANA.match(w) is not None, fold_variants(w))
        if len(_PARTS) < _PARTS_MAX:
            _PARTS[raw] = got
    return got


def _fast_split(s: str) -> tuple[_Part, _Part] | None:
    """ "山田 太郎" / "ヤマダ　タロウ": the common, cheap case (two parts, CJK only)."""
    parts = s.split()
    if len(parts) != 2 or parts[1].endswith(_HONORIFIC_END):
        return None
    a, b = _part(parts[0]), _part(parts[1])
    if not (a[1] and b[1]):
        return None
    return a, b


def _names(f: Features, name: str, kana: str) -> None:
    # Both parts all kana <=> their concatenation is (no part can end in a newline, which
    # ``$`` would let through: split() removes them and NFKC never makes one).
    fast = _fast_split(name) if name else None
    if fast is not None and not (fast[0][2] and fast[1][2]):
        (f.fam_w, _, _, f.fam), (f.giv_w, _, _, f.giv) = fast
        n = None
    else:
        n = normalize_name(name) if name else None
    fast = _fast_split(kana) if kana else None
    # The reading column, written family name first, wins over a reading derived from romaji.
    kana_split = fast is not None and fast[0][2] and fast[1][2]
    if fast is not None and kana_split:
        f.fam_k, f.giv_k = normalize_kana(fast[0][0]), normalize_kana(fast[1][0])
        f.order_known = True
        k = None
    else:
        k = normalize_name(kana) if kana else None
    if n is not None and n.script == "kanji":
        f.fam, f.giv, f.fam_w, f.giv_w = n.family, n.given, n.family_written, n.given_written
        f.unspaced = UNSPACED_NAME if len(name.split()) == 1 else 0
    elif n is not None and n.script in ("kana", "latin") and not kana_split:
        f.fam_k, f.giv_k = n.family, n.given
        if n.script == "latin":
            # Upper-case romaji both ways round is a guess; let comparisons try both.
            f.order_known = n.family_written.isupper() != n.given_written.isupper() or "," in name
    if k is not None and k.script in ("kana", "latin") and (k.family or k.given):
        if not _split_by_name(f, n, k.family + k.given if len(kana.split()) == 1 else ""):
            f.fam_k, f.giv_k = k.family, k.given
            f.order_known = True
            if len(kana.split()) == 1:
                f.unspaced |= UNSPACED_READING
    elif n is not None and n.script == "kana" and len(name.split()) == 1:
        f.unspaced |= UNSPACED_READING
    f.fam_l, f.giv_l = loose_kana(f.fam_k), loose_kana(f.giv_k)


def _split_by_name(f: Features, n: Name | None, unspaced: str) -> bool:
    """An unspaced reading (オカダダイスケ) beside a spaced romaji or kana name (OKADA DAISUKE,
    ふじさう みさき): the name says where the family name ends, and the reading which way
    round the name is."""
    if not unspaced or n is None or n.script not in ("latin", "kana") or not (n.family and n.given):
        return False
    # Loose readings of the whole, not of the parts: the fold of ノオ to ノ spans the cut
    # (イナノ|オサム is イナノサム).
    whole = loose_kana(unspaced)
    if whole == loose_kana(n.family + n.given):
        first, second = n.family, n.given
    elif whole == loose_kana(n.given + n.family):
        first, second = n.given, n.family
    else:
        return False
    # Keep the reading's own kana (タロウ, not the romaji's タロ) where a cut fits; the last
    # such cut, so that a length mark stays with the syllable it lengthens (カトー|ソワタ).
    head, tail = loose_kana(first), loose_kana(second)
    cut = next((i for i in range(len(unspaced) - 1, 0, -1)
                if loose_kana(unspaced[:i]) == head and loose_kana(unspaced[i:]) == tail),
               0)  # fmt: skip
    f.fam_k, f.giv_k = (unspaced[:cut], unspaced[cut:]) if cut else (first, second)
    f.order_known = True
    return True


def _named_and_born(row: Mapping[str, str]) -> Features:
    """What watchlist and listing rows share: the names and a written birth date."""
    f = Features()
    _names(f, row.get("name", "") or "", row.get("name_kana", "") or "")
    b = parse_birthdate(row.get("birthdate", "") or "")
    if b.start is not None and b.end is not None:
        f.birth_lo, f.birth_hi = b.start.toordinal(), b.end.toordinal()
        f.birth_precision = b.precision
    return f


def person_features(row: Mapping[str, str]) -> Features:
    """A watchlist row (data contract columns)."""
    f = _named_and_born(row)
    f.gender = gender_code(row.get("gender", "") or "")
    f.place = place_of(row.get("address", "") or "", row.get("postal_code", "") or "")
    f.phone = phone_digits(row.get("phone", "") or "")
    f.email = normalize_email(row.get("email", "") or "")
    f.relationship = relationship_code(row.get("relationship", "") or "",
                                       bool(f.fam or f.fam_k))  # fmt: skip
    return f


def relationship_code(relationship: str, named: bool) -> int:
    """GUARDIAN, CHILD or UNBORN (a record without a name: a due date), 0 if unknown."""
    rel = relationship.strip()
    if not named:
        return UNBORN if rel in ("胎児", "") else CHILD
    if rel in ("本人", "保護者", "父", "母", "guardian"):
        return GUARDIAN
    return CHILD if rel else 0


def name_columns(name: str, kana: str) -> tuple[str, str, str, str, str, str, str, str]:
    """A watchlist person's eight name values (fam, giv, fam_w, giv_w, fam_k, giv_k, fam_l,
    giv_l), as :func:`person_features` gives them."""
    # The common case (山田 太郎 / ヤマダ タロウ) straight from the parts, as _names makes it.
    written = _fast_split(name) if name else None
    if written is not None and not (written[0][2] and written[1][2]):
        read = _fast_split(kana) if kana else None
        if read is not None and read[0][2] and read[1][2]:
            fam_k, giv_k = normalize_kana(read[0][0]), normalize_kana(read[1][0])
            return (written[0][3], written[1][3], written[0][0], written[1][0], fam_k, giv_k,
                    loose_kana(fam_k), loose_kana(giv_k))  # fmt: skip
    f = Features()
    _names(f, name, kana)
    return f.fam, f.giv, f.fam_w, f.giv_w, f.fam_k, f.giv_k, f.fam_l, f.giv_l


def phone_digits(s: str) -> str:
    """A phone column's (first) number as national digits, masked ones as "?"; "" if none
    (see :func:`matcher.phone.phone_numbers`)."""
    digits = national_digits(s)
    if MIN_DIGITS <= len(digits) <= MAX_DIGITS:
        return digits  # one number, as nearly every cell has: phone_numbers' first step
    numbers = phone_numbers(s) if s else ()
    return numbers[0] if numbers else ""


def listing_features(row: Mapping[str, str]) -> Features:
    """A published listing row; ages and grades wait for the listing's as-of date."""
    f = _named_and_born(row)
    age = width(row.get("age", "") or "").strip().rstrip("歳才").strip()
    if age.isdigit() and len(age) <= 3:
        f.age = int(age)
    f.grade = width(row.get("grade", "") or "").strip()
    f.gender = gender_code(row.get("gender", "") or "")
    f.place = place_of(row.get("address", "") or "", row.get("postal_code", "") or "")
    cell = row.get("phone", "") or ""
    digits = national_digits(cell)
    if MIN_DIGITS <= len(digits) <= MAX_DIGITS:
        f.phone = digits  # one number, as nearly every cell has: phone_numbers' first step
    elif cell:
        numbers = phone_numbers(cell)
        f.phone = numbers[0] if numbers else ""
        if len(numbers) > 1:
            f.phones = numbers
    f.email = normalize_email(row.get("email", "") or "")
    g = row.get("guardian_name", "") or ""
    if g:
        gn = normalize_name(g)
        if gn.script == "kanji":
            f.guardian_giv = gn.given
            if _KANA.match(gn.given):  # 佐藤 ともみ: a given name written in kana is a reading
                f.guardian_giv_l = loose_kana(gn.given)
        elif gn.given or gn.family:
            # A romaji guardian name may be either way round: keep both parts' readings.
            f.guardian_giv_l = (
                loose_kana(gn.given) + "|" + loose_kana(gn.family)
                if gn.script == "latin"
                else loose_kana(gn.given)
            )
    return f


def birth_from_age_or_grade(f: Features, as_of_lo: date, as_of_hi: date) -> tuple[int, int]:
    """Birth-date interval of an age or grade when the list is dated within [lo, hi]."""
    if f.grade:
        a = parse_birthdate(f.grade, as_of_lo)
        b = parse_birthdate(f.grade, as_of_hi)
        if a.start is not None and b.end is not None:
            return a.start.toordinal(), b.end.toordinal()
    if f.age >= 0:
        try:
            first, last = age_range(f.age, as_of_lo).start, age_range(f.age, as_of_hi).end
        except ValueError:
            return 0, 0
        if first is not None and last is not None:
            return first.toordinal(), last.toordinal()
    return 0, 0


__all__ = [
    "CHILD",
    "GUARDIAN",
    "UNBORN",
    "Features",
    "Place",
    "birth_from_age_or_grade",
    "grade_range",
    "listing_features",
    "name_columns",
    "person_features",
    "phone_digits",
    "place_from",
    "place_of",
    "relationship_code",
]
