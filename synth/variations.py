"""How brokers' lists write a person: per-listing formatting habits and per-row corruptions.

Owns :class:`ListingStyle` (one list is formatted consistently: its name script, date form,
address and phone habits, dropped columns, and its hidden as-of date), the rendering of a
:class:`~synth.subject.Subject` into a listing row, and the per-row changes that happen to
individual records (variant kanji, look-alike typos, a move to a new address). Every function
reports the variation tags it applied, for the ground truth.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from datetime import date

from matcher import contract
from synth import dates, names, phones
from synth.kana import (
    Hepburn,
    to_fullwidth_digits,
    to_halfwidth_kana,
    to_hiragana,
    to_romaji,
)
from synth.places import PREFECTURE_POPULATION, Address, kanji_numeral, sample_address
from synth.subject import Subject

LISTING_COLUMNS = list(contract.LISTING_COLUMNS)

NAME_STYLES = (
    "kanji_space", "kanji_nospace", "kanji_fullspace", "halfwidth_kana", "hiragana",
    "romaji_given_first", "romaji_family_upper", "romaji_given_upper",
)  # fmt: skip
KANA_STYLES = ("katakana", "katakana_nospace", "halfwidth", "hiragana", "none")
GENDER_STYLES = ("MF", "kanji", "number", "none")
BIRTH_STYLES = ("date", "date_age", "age", "grade", "grade_age")
POSTAL_STYLES = ("hyphen", "plain", "mark", "fullwidth", "none")
NUMERAL_STYLES = ("canonical", "arabic", "hyphen", "fullwidth", "kanji")
UNIT_STYLES = ("keep", "shitsu", "hyphen", "hash", "room_only", "drop")
PHONE_STYLES = (
    "hyphen", "paren", "fullwidth", "intl", "plain", "mask_middle", "mask_tail", "none",
)  # fmt: skip
KE_STYLES = ("ケ", "ヶ", "が")

_AS_OF_FIRST = date(2014, 7, 15).toordinal()  # brokers were selling the copy within weeks
_AS_OF_LAST = date(2020, 3, 31).toordinal()


@dataclass(frozen=True, slots=True)
class ListingStyle:
    """The formatting habits of one published list, and the date it speaks of (hidden)."""

    listing_id: str
    as_of: date
    name: str
    hepburn: Hepburn
    kana: str
    gender: str
    birth: str
    date_style: str
    guardian: bool
    postal: str
    numerals: str
    drop_pref: bool
    unit: str
    ke: str
    oaza: bool  # writes 大字 before land-lot (番地) towns
    phone: str
    email: bool


def random_style(rng: random.Random, listing_id: str) -> ListingStyle:
    """A consistent set of habits for one list; about half the lists look clean."""

    def pick(options: tuple[str, ...], clean: float) -> str:
        # The first option is the canonical habit; ``clean`` is how often a list keeps it.
        return options[0] if rng.random() < clean else options[rng.randrange(1, len(options))]

    return ListingStyle(
        listing_id=listing_id,
        as_of=date.fromordinal(rng.randint(_AS_OF_FIRST, _AS_OF_LAST)),
        name=pick(NAME_STYLES, 0.45),
        hepburn=list(Hepburn)[rng.randrange(len(Hepburn))],
        kana=pick(KANA_STYLES, 0.5),
        gender=pick(GENDER_STYLES, 0.5),
        birth=pick(BIRTH_STYLES, 0.4),
        date_style=dates.DATE_STYLES[rng.randrange(len(dates.DATE_STYLES))],
        guardian=rng.random() < 0.35,
        postal=pick(POSTAL_STYLES, 0.5),
        numerals=pick(NUMERAL_STYLES, 0.3),
        drop_pref=rng.random() < 0.3,
        unit=pick(UNIT_STYLES, 0.4),
        ke=pick(KE_STYLES, 0.6),
        oaza=rng.random() < 0.2,
        phone=pick(PHONE_STYLES, 0.4),
        email=rng.random() < 0.4,
    )


# --- per-row changes -------------------------------------------------------------------------

# Characters that OCR and hurried typists confuse; kanji for kanji, kana for kana.
LOOKALIKES: dict[str, str] = {
    "太": "大", "大": "太", "己": "巳", "未": "末", "末": "未", "土": "士", "士": "土",
    "崎": "埼", "祐": "佑", "佑": "祐", "裕": "祐", "陽": "暘", "斉": "斎", "一": "ー",
    "二": "ニ", "口": "ロ", "力": "カ", "夕": "タ", "工": "エ", "八": "ハ", "菜": "莱",
    "沢": "択", "輝": "耀", "翔": "翔", "真": "眞", "彩": "綵", "子": "了", "美": "羙",
    "ソ": "ン", "ン": "ソ", "シ": "ツ", "ツ": "シ", "ウ": "ワ", "ワ": "ウ", "ク": "ケ",
    "ケ": "ク", "ル": "レ", "ユ": "コ", "ナ": "メ", "チ": "テ",
}  # fmt: skip
LOOKALIKES = {k: v for k, v in LOOKALIKES.items() if k != v}


def _swap_one(rng: random.Random, text: str) -> str | None:
    spots = [i for i, c in enumerate(text) if c in LOOKALIKES]
    if not spots:
        return None
    i = spots[rng.randrange(len(spots))]
    return text[:i] + LOOKALIKES[text[i]] + text[i + 1 :]


def apply_typo(rng: random.Random, s: Subject, style: ListingStyle) -> tuple[Subject, str]:
    """One look-alike character swapped where the list shows it; returns the tag or ""."""
    if style.name.startswith("kanji"):
        given = _swap_one(rng, s.given)
        if given is not None:
            return replace(s, given=given), "typo"
        surname = _swap_one(rng, s.surname)
        if surname is not None:
            return replace(s, surname=surname), "typo"
    if style.name in ("halfwidth_kana", "hiragana") or style.kana != "none":
        gk = _swap_one(rng, s.given_kana)
        if gk is not None:
            return replace(s, given_kana=gk), "typo_kana"
        sk = _swap_one(rng, s.surname_kana)
        if sk is not None:
            return replace(s, surname_kana=sk), "typo_kana"
    return s, ""


def apply_variant_kanji(s: Subject, rng: random.Random) -> tuple[Subject, str]:
    """The surname in the other spelling: registered 髙橋 -> 高橋, or 高橋 -> 髙橋."""
    std = names.standard_form(s.surname)
    if std != s.surname:
        return replace(s, surname=std), "variant_kanji_to_standard"
    forms = names.variant_forms(s.surname)
    if forms:
        return replace(s, surname=forms[rng.randrange(len(forms))]), "variant_kanji_to_variant"
    return s, ""


def apply_move(rng: random.Random, s: Subject) -> tuple[Subject, list[str]]:
    """The person's address after moving (same prefecture more often than not)."""
    pref = s.address.town.pref if s.address and rng.random() < 0.6 else None
    new = sample_address(rng, pref)
    while s.address is not None and new.town == s.address.town:
        new = sample_address(rng, pref)
    tags = ["moved"]
    phone = s.phone
    is_mobile = phone[:3] in ("090", "080", "070")
    # A mobile usually moves with its owner; a fixed line almost never does.
    if rng.random() < (0.3 if is_mobile else 0.85):
        phone = (
            phones.mobile(rng) if is_mobile else phones.landline(rng, new.town.pref, new.town.city)
        )
        tags.append("phone_changed")
    return replace(s, address=new, postal=new.postal_code, raw_address="", phone=phone), tags


# --- rendering ---------------------------------------------------------------------------------


def _cap(romaji: str) -> str:
    return romaji[:1].upper() + romaji[1:]


def render_name(
    surname: str, given: str, sk: str, gk: str, style: ListingStyle
) -> tuple[str, str, list[str]]:
    """(name column, kana column, tags) for one name in the list's habits."""
    tags: list[str] = []
    st = style.name
    if st == "kanji_space":
        name = f"{surname} {given}".strip()
    elif st == "kanji_nospace":
        name, tags = surname + given, ["name_nospace"]
    elif st == "kanji_fullspace":
        name, tags = f"{surname}　{given}".strip("　"), ["name_fullwidth_space"]
    elif st == "halfwidth_kana":
        name, tags = to_halfwidth_kana(f"{sk} {gk}".strip()), ["name_halfwidth_kana"]
    elif st == "hiragana":
        name, tags = to_hiragana(f"{sk} {gk}".strip()), ["name_hiragana"]
    else:
        rs, rg = to_romaji(sk, style.hepburn), to_romaji(gk, style.hepburn)
        tags = ["name_romaji", f"romaji_{style.hepburn.value}"]
        if st == "romaji_given_first":
            name = f"{_cap(rg)} {_cap(rs)}".strip()
        elif st == "romaji_family_upper":
            name = f"{rs.upper()} {rg.upper()}".strip()
            tags.append("romaji_family_first")
        else:
            name = f"{rg.upper()} {rs.upper()}".strip()
    kana = ""
    if style.kana == "katakana":
        kana = f"{sk} {gk}".strip()
    elif style.kana == "katakana_nospace":
        kana, tags = sk + gk, [*tags, "kana_nospace"]
    elif style.kana == "halfwidth":
        kana, tags = to_halfwidth_kana(f"{sk} {gk}".strip()), [*tags, "kana_halfwidth"]
    elif style.kana == "hiragana":
        kana, tags = to_hiragana(f"{sk} {gk}".strip()), [*tags, "kana_hiragana"]
    return name, kana, tags


def render_gender(g: str, style: ListingStyle) -> str:
    if not g or style.gender == "none":
        return ""
    if style.gender == "kanji":
        return "男" if g == "M" else "女"
    if style.gender == "number":
        return "1" if g == "M" else "2"
    return g


def render_birth(birth: date | None, style: ListingStyle) -> tuple[str, str, str, list[str]]:
    """(birthdate, age, grade, tags): a date, or only an age or a school grade on as-of."""
    if birth is None:
        return "", "", "", []
    bd = age = grade = ""
    tags: list[str] = []
    if style.birth in ("date", "date_age"):
        bd = dates.format_date(birth, style.date_style)
        if style.date_style != "iso":
            tags.append(f"date_{style.date_style}")
    if style.birth in ("grade", "grade_age"):
        grade = dates.grade_on(birth, style.as_of)
        if grade:
            tags.append("grade")
    if style.birth in ("date_age", "age", "grade_age") or (style.birth == "grade" and not grade):
        age = str(dates.age_on(birth, style.as_of))
        tags.append("age")
    return bd, age, grade, tags


def render_postal(postal: str, style: ListingStyle) -> str:
    if style.postal == "plain":
        return postal.replace("-", "")
    if style.postal == "mark":
        return "〒" + postal
    if style.postal == "fullwidth":
        return to_fullwidth_digits(postal)
    if style.postal == "none":
        return ""
    return postal


def _town(addr: Address, style: ListingStyle, tags: list[str]) -> str:
    town = addr.town.town
    if "ケ" in town and style.ke != "ケ":
        town = town.replace("ケ", style.ke)
        tags.append("ke_" + ("small" if style.ke == "ヶ" else "hiragana"))
    if addr.banchi and style.oaza and not town.startswith(("大字", "字")):
        town = "大字" + town
        tags.append("oaza_added")
    elif town.startswith("大字") and style.oaza:
        town = town[2:]
        tags.append("oaza_dropped")
    return town


def _street(addr: Address, style: ListingStyle, tags: list[str]) -> str:
    st = style.numerals
    c, b, n = addr.chome, addr.block, addr.number
    if st == "canonical":
        return addr.street
    tags.append(f"numerals_{st}")
    if st == "kanji":
        head = f"{kanji_numeral(c)}丁目" if c else ""
        if addr.banchi:
            return f"{head}{kanji_numeral(b)}番地{kanji_numeral(n) if n else ''}"
        return f"{head}{kanji_numeral(b)}番{kanji_numeral(n) + '号' if n else ''}"
    if st == "arabic":
        head = f"{c}丁目" if c else ""
        if addr.banchi:
            return f"{head}{b}番地{n or ''}"
        return f"{head}{b}番{str(n) + '号' if n else ''}"
    parts = [str(x) for x in (c, b, n) if x]
    if st == "hyphen":
        return "-".join(parts)
    # fullwidth: "１丁目２－３", the way a Japanese IME types it
    head = f"{to_fullwidth_digits(str(c))}丁目" if c else ""
    rest = "-".join(str(x) for x in (b, n) if x)
    return head + to_fullwidth_digits(rest)


def _unit(addr: Address, style: ListingStyle, tags: list[str]) -> str:
    if not addr.building:
        return ""
    st = style.unit
    room = addr.room
    if st == "keep":
        return " " + addr.unit
    tags.append(f"unit_{st}")
    if st == "drop" or not room:
        return "" if st == "drop" else " " + addr.building
    if st == "shitsu":
        return f" {addr.building} {room}号室"
    if st == "hyphen":
        return f"-{room}"
    if st == "hash":
        return f" {addr.building} #{room}"
    return f" {room}号室"  # room_only: the building name dropped, the room kept


def render_address(s: Subject, style: ListingStyle) -> tuple[str, list[str]]:
    """The address column in the list's habits; an unparsed address keeps its own form."""
    tags: list[str] = []
    if s.address is None:
        text = s.raw_address
        if style.drop_pref:
            for pref in PREFECTURE_POPULATION:
                if text.startswith(pref):
                    text = text[len(pref) :]
                    tags.append("no_prefecture")
                    break
        if style.numerals == "fullwidth":
            text = to_fullwidth_digits(text)
            tags.append("numerals_fullwidth")
        return text, tags
    a = s.address
    pref = "" if style.drop_pref else a.town.pref
    if style.drop_pref:
        tags.append("no_prefecture")
    text = f"{pref}{a.town.city}{_town(a, style, tags)}{_street(a, style, tags)}"
    return text + _unit(a, style, tags), tags


def _mask(phone: str, style: str) -> str:
    head, mid, last = phone.split("-")
    if style == "mask_middle":
        return f"{head}-{'*' * len(mid)}-{last}"
    return f"{head}-{mid}-{'x' * len(last)}"


def render_phone(phone: str, style: ListingStyle) -> tuple[str, list[str]]:
    """The phone column: hyphens, brackets, full-width digits, +81, or masked digits."""
    st = style.phone
    if not phone or st == "none":
        return "", []
    if st == "hyphen" or phone.count("-") != 2:
        return phone, []
    head, mid, last = phone.split("-")
    tags = [f"phone_{st}"]
    if st == "paren":
        return f"({head}){mid}-{last}", tags
    if st == "fullwidth":
        return to_fullwidth_digits(phone.replace("-", "")), tags
    if st == "intl":
        return f"+81-{head[1:]}-{mid}-{last}", tags
    if st == "plain":
        return head + mid + last, tags
    return _mask(phone, st), ["phone_masked", *tags]


def render_row(s: Subject, style: ListingStyle, row_id: str) -> tuple[dict[str, str], list[str]]:
    """One listing row for ``s`` in ``style``, with the formatting tags it shows."""
    name, kana, tags = render_name(s.surname, s.given, s.surname_kana, s.given_kana, style)
    bd, age, grade, t = render_birth(s.birth, style)
    tags += t
    address, t = render_address(s, style)
    tags += t
    phone, t = render_phone(s.phone, style)
    tags += t
    guardian = ""
    if style.guardian and s.guardian is not None:
        guardian = render_name(*s.guardian, style)[0]
        tags.append("guardian_name")
    row = {
        "row_id": row_id,
        "listing_id": style.listing_id,
        "name": name,
        "name_kana": kana,
        "gender": render_gender(s.gender, style),
        "birthdate": bd,
        "age": age,
        "grade": grade,
        "guardian_name": guardian,
        "postal_code": render_postal(s.postal, style),
        "address": address,
        "phone": phone,
        "email": s.email if style.email else "",
    }
    return row, tags
