"""What a published column or value is: header recognition and content classification.

Brokers label columns in many ways (氏名 / お名前 / 名前, フリガナ / カナ, 〒 / 郵便番号 …)
or not at all. ``field_for_header`` maps a label to a listing-contract column;
``classify_value`` says which columns a bare value could belong to, and ``assign_columns``
turns per-column votes into one column map for a headerless table. Everything here is pure
and bounded (values are capped before they reach us).
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence

from matcher import PREFECTURES, contract

# The listing data contract (matcher.contract), in order.
LISTING_COLUMNS = list(contract.LISTING_COLUMNS)
RECORD_FIELDS = list(contract.RECORD_FIELDS)  # what a published record is made of

# Label keywords per column, most specific first (保護者氏名 is a guardian, not a name).
_HEADER_KEYWORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("guardian_name", ("保護者", "親権者", "世帯主", "父母", "guardian", "parent")),
    ("name_kana", ("フリガナ", "ふりがな", "カナ", "かな", "ヨミ", "よみ", "kana", "読み")),
    ("email", ("メール", "mail", "e-mail", "アドレス")),
    ("postal_code", ("〒", "郵便", "zip", "postal", "postcode")),
    ("phone", ("電話", "tel", "phone", "携帯", "連絡先", "fax")),
    ("address", ("住所", "所在地", "address", "addr", "住居")),
    ("birthdate", ("生年月日", "誕生日", "生年", "birth", "dob")),
    ("age", ("年齢", "歳", "age")),
    ("grade", ("学年", "grade", "学齢")),
    ("gender", ("性別", "男女", "gender", "sex")),
    ("name", ("氏名", "名前", "姓名", "児童名", "生徒名", "name", "お子様")),
    ("row_id", ("no", "番号", "id", "#", "通番", "連番")),
    ("listing_id", ("listing",)),
)
_EXACT_HEADERS = {
    "row_id": "row_id", "listing_id": "listing_id", "name": "name", "name_kana": "name_kana",
    "no": "row_id", "no.": "row_id", "#": "row_id", "id": "row_id",
}  # fmt: skip
_HEADER_STRIP = re.compile(r"[\s:：()（）\[\]【】<>＜＞・*※\"'「」]")


def header_key(label: str) -> str:
    return _HEADER_STRIP.sub("", unicodedata.normalize("NFKC", label)).lower()


def field_for_header(label: str) -> str | None:
    """The contract column a header label names, or None for an unknown column (kept as extra)."""
    key = header_key(label)
    if not key or len(key) > 30:
        return None
    if key in _EXACT_HEADERS:
        return _EXACT_HEADERS[key]
    for field, words in _KEYWORDS_NORMALISED:
        for w in words:
            if field == "row_id" and w in ("no", "id"):
                # short ascii words only as a whole label or a clear prefix (No., ID番号)
                if key == w or re.fullmatch(rf"{w}\.?\d*|{w}番号?|{w}no", key):
                    return field
                continue
            if w in key:
                return field
    return None


_KEYWORDS_NORMALISED = tuple(
    (field, tuple(header_key(w) for w in words)) for field, words in _HEADER_KEYWORDS
)


# Fields a record may publish more than once (TEL and FAX columns, two numbers in one cell):
# every value is kept in the one field, the first first (``join_value``).
REPEATABLE = frozenset({"phone"})
VALUE_SEPARATOR = " / "


def join_value(first: str, label: str, value: str) -> str:
    """``value`` appended to a repeatable field holding ``first``; ``label`` (FAX, 携帯 …) is
    kept before it when it says more than the field's name, so the cell reads as published."""
    if not value:
        return first
    if not first:
        return value
    label = label.strip()
    said = f"{label} {value}" if label and not _PLAIN_PHONE_LABEL.fullmatch(label) else value
    return f"{first}{VALUE_SEPARATOR}{said}"


_PLAIN_PHONE_LABEL = re.compile(r"(?i)(?:電話(?:番号)?|tel|phone|連絡先)")


def map_header(cells: Sequence[str]) -> dict[int, str] | None:
    """Column index -> field for a header row, or None if it does not look like one.

    A header row names at least two distinct record fields and holds no value that looks
    like data (a phone number or a postal code). A repeatable field (``REPEATABLE``) may be
    named by several columns (TEL, FAX): each maps to it.
    """
    mapping: dict[int, str] = {}
    for i, cell in enumerate(cells):
        if len(cell) > 40:
            return None
        field = field_for_header(cell)
        # a second phone column (FAX, 携帯, TEL2) is kept too: its numbers join the first's
        if field and (field not in mapping.values() or field in REPEATABLE):
            mapping[i] = field
    named = {f for f in mapping.values() if f in RECORD_FIELDS}
    if len(named) < 2:
        return None
    if any(classify_value(c) & {"phone", "postal_code", "email"} for c in cells):
        return None
    return mapping


# --- values -------------------------------------------------------------------------------

_EMAIL = re.compile(r"^[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}$")
_POSTAL = re.compile(r"^〒?\s*\d{3}\s*[-‐－ー]?\s*\d{4}$")
_PHONE = re.compile(r"^(?:\+81[\s\-]?|\(?0)[\d()\-\s*xX]{8,15}$")
_DATE = re.compile(
    r"^(?:"
    r"(?:19|20)\d{2}[/\-.](?:0?[1-9]|1[0-2])(?:[/\-.](?:0?[1-9]|[12]\d|3[01]))?"
    r"|(?:19|20)\d{2}年\d{1,2}月(?:\d{1,2}日)?"
    r"|(?:明治|大正|昭和|平成|令和)(?:元|\d{1,2})年\d{1,2}月(?:\d{1,2}日)?"
    r"|[MTSHR]\d{1,2}\.\d{1,2}\.\d{1,2}"
    r"|(?:19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])"
    r")(?:生|生まれ)?$"
)
_AGE = re.compile(r"^(\d{1,3})\s*(?:歳|才)?$")
_GRADE = re.compile(r"^(?:小|中|高)[1-6]$|^(?:小学|中学|高校)[1-6]年生?$|^年[少中長]$|^未就学$")
_GENDERS = {"M", "F", "男", "女", "男性", "女性", "1", "2", "m", "f"}
_KANA = re.compile(r"^[\u3041-\u309f\u30a0-\u30ff\uff66-\uff9f\s・ー]+$")
_ADDRESS_HINT = re.compile(
    r"(?:都|道|府|県|市|区|町|村|郡).*(?:\d|丁目|番|号|[一二三四五六七八九十]|字)"
)
_HAS_DIGIT = re.compile(r"\d")
# dashes NFKC leaves alone (hyphens, the minus sign) read as "-" in postal codes and phones
_DASHES = str.maketrans(dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2015\u2212", "-"))


def nfkc(value: str) -> str:
    return unicodedata.normalize("NFKC", value).strip()


def _is_phone(compact: str) -> bool:
    """One phone number, spaces removed (masked digits count: 03-****-5678)."""
    if not _PHONE.match(compact):
        return False
    digits = sum(ch.isdigit() for ch in compact)
    marks = digits + compact.count("*") + compact.lower().count("x")
    return 9 <= marks <= 13 and digits >= 4


# Labels and separators inside one phone cell: "TEL 03-… / FAX 03-…", "03-…、090-…".
_PHONE_CELL_LABEL = re.compile(
    r"(?i)(?:tel|fax|phone|mobile|電話|携帯|自宅|ファックス|ファクス)(?:\s*番号)?\s*[:.]?"
)
_PHONE_CELL_SEP = re.compile(r"[/、,;|・]+")
MAX_PHONES_IN_CELL = 4


def is_phone_list(value: str) -> bool:
    """A cell of one to four phone numbers, with labels (TEL, FAX, 携帯) and list separators
    between them and nothing else (``TEL/FAX 03-1234-5678 / 03-1234-5679``)."""
    v = nfkc(value)
    if len(v) > 100 or not any(ch.isdigit() for ch in v):
        return False
    pieces = [p.strip() for p in _PHONE_CELL_SEP.split(_PHONE_CELL_LABEL.sub(" ", v))]
    numbers = 0
    for piece in (p for p in pieces if p):
        if _is_phone(piece.replace(" ", "")):
            numbers += 1
            continue
        words = piece.split()  # "03-1234-5678 090-1234-5678": numbers side by side
        if not all(_is_phone(w) for w in words):
            return False
        numbers += len(words)
    return 1 <= numbers <= MAX_PHONES_IN_CELL


def classify_value(value: str) -> set[str]:
    """The contract columns a single published value could belong to (empty if none)."""
    v = nfkc(value)
    if not v:
        return set()
    out: set[str] = set()
    if _EMAIL.match(v):
        return {"email"}
    dashed = v.translate(_DASHES)  # EUC-JP pages show a full-width minus as "−" (U+2212)
    if _POSTAL.match(dashed):
        return {"postal_code"}
    if v in _GENDERS:
        out.add("gender")
    m = _AGE.match(v)
    if m and int(m.group(1)) <= 120:
        out.add("age")
    if _GRADE.match(v):
        return {"grade"}
    if _is_phone(dashed.replace(" ", "")) or is_phone_list(dashed):
        return {"phone"}
    if _DATE.match(v):
        return {"birthdate"}
    if out:
        return out
    placed = v.startswith(PREFECTURES) or _ADDRESS_HINT.search(v)
    if len(v) <= 120 and placed and (_HAS_DIGIT.search(v) or any(k in v for k in "丁番号字")):
        return {"address"}
    if len(v) <= 40 and not _HAS_DIGIT.search(v):
        return {"kana_text"} if _KANA.match(v) else {"name_text"}
    return set()


def column_kind(values: Iterable[str]) -> str | None:
    """The majority kind of a column's non-empty values (needs 60 % agreement)."""
    votes: Counter[str] = Counter()
    n = 0
    for v in values:
        kinds = classify_value(v)
        if not nfkc(v):
            continue
        n += 1
        for k in kinds:
            votes[k] += 1
    if not n:
        return None
    # gender beats age when every value is a gender code (1/2, M/F)
    if votes["gender"] >= 0.9 * n:
        return "gender"
    best = max(votes.items(), key=lambda kv: kv[1], default=None)
    if best is None or best[1] < 0.6 * n:
        return None
    return best[0]


def assign_columns(kinds: Sequence[str | None]) -> dict[int, str]:
    """Column index -> contract field for a headerless table from each column's kind.

    Name-like columns take name, then (kana) name_kana, then guardian_name, in page order.
    """
    mapping: dict[int, str] = {}
    used: set[str] = set()
    for i, kind in enumerate(kinds):
        if kind is None:
            continue
        if kind in ("name_text", "kana_text"):
            if "name" not in used:
                field = "name"
            elif kind == "kana_text" and "name_kana" not in used:
                field = "name_kana"
            elif "guardian_name" not in used:
                field = "guardian_name"
            else:
                continue
        else:
            field = kind
        if field in used:
            continue
        mapping[i] = field
        used.add(field)
    return mapping
