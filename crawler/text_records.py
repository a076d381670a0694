"""Records in free text: paste sites, forum posts, ``<pre>`` dumps.

Two layouts are recognised without per-site code:

* one record per line, values separated by ``|``, ``｜``, a tab, `` / `` or ``／``; each value is
  labelled (``TEL:03-…``, ``氏名：…``) or recognised by its content (postal codes, phones, e-mail,
  dates, ages, grades, addresses, runs of name characters, in the order a list gives them);
* blocks of ``label: value`` lines (``氏名：…``, ``郵便番号：〒…``), one record per block: a blank
  line or a repeated label starts the next (a second phone label, FAX after TEL, adds its
  number to the record's phone instead).

A cell or block with several phone numbers (TEL and FAX, two numbers) keeps them all in the
record's ``phone``, the first first (``crawler.fields.join_value``).

A line or block is a record only when it yields at least two fields, one of them an anchor
(phone, postal code, address, e-mail) — so prose is not mistaken for data.
"""

from __future__ import annotations

import re

from crawler.fields import REPEATABLE, classify_value, field_for_header, join_value
from crawler.tables import MAX_ROWS, Record, clean_cell

_SEPARATORS = re.compile(r"\s*[|｜\t]\s*|\s+[/／]\s+|／")
_LABELLED = re.compile(r"^\s*([^:：=＝]{1,12})\s*[:：=＝]\s*(.*)$")
_ANCHORS = ("phone", "postal_code", "address", "email")
_PREFIX_LABELS = {"〒": "postal_code", "TEL": "phone", "Tel": "phone", "tel": "phone"}
MAX_LINES = 200_000


def _labelled(cell: str) -> tuple[str, str, str] | None:
    """(field, value, the label as published) of a ``label: value`` cell, or None."""
    m = _LABELLED.match(cell)
    if not m:
        return None
    name = field_for_header(m.group(1))
    if name is None:
        return None
    return name, m.group(2).strip(), m.group(1).strip()


def _age(value: str) -> str:
    """An age without its 歳/才 (``8歳`` is the age 8), as the line reader has always kept it."""
    return re.sub(r"\s*(歳|才)$", "", value) if _AGE_SUFFIX.search(value) else value


def _strip_prefix(cell: str) -> tuple[str | None, str]:
    for prefix, name in _PREFIX_LABELS.items():
        if cell.startswith(prefix) and name == "phone" and len(cell) > len(prefix):
            rest = cell[len(prefix) :].lstrip(":： .")
            if "phone" in classify_value(rest):
                return name, rest
    return None, cell


def record_from_cells(cells: list[str], where: str) -> Record | None:
    rec = Record({}, {}, where)
    f = rec.fields
    for raw in cells:
        cell = clean_cell(raw)
        if not cell:
            continue
        lab = _labelled(cell)
        if lab is not None and (lab[0] not in f or lab[0] in REPEATABLE):
            _put(f, lab[0], lab[1], lab[2])
            continue
        forced, cell = _strip_prefix(cell)
        if forced:
            _put(f, forced, cell, "")
            continue
        kinds = classify_value(cell)
        if not kinds:
            rec.extra[f"text{len(rec.extra) + 1}"] = cell
            continue
        placed = _place(f, kinds, cell)
        if not placed:
            rec.extra[f"text{len(rec.extra) + 1}"] = cell
    anchors = sum(1 for k in _ANCHORS if f.get(k))
    return rec if anchors and rec.filled() >= 2 else None


def _put(f: dict[str, str], name: str, value: str, label: str) -> None:
    """``value`` into field ``name``; a repeatable field (phone) keeps every value."""
    if name in REPEATABLE and f.get(name):
        f[name] = join_value(f[name], label, value)
    elif name == "age":
        f[name] = _age(value)
    else:
        f[name] = value


def _place(f: dict[str, str], kinds: set[str], cell: str) -> bool:
    if "name_text" in kinds or "kana_text" in kinds:
        if "name" not in f:
            f["name"] = cell
        elif "kana_text" in kinds and "name_kana" not in f and not _later_fields(f):
            f["name_kana"] = cell
        elif "guardian_name" not in f:
            f["guardian_name"] = cell
        else:
            return False
        return True
    if "gender" in kinds and "gender" not in f and not _later_fields(f, ("birthdate", "age")):
        f["gender"] = cell
        return True
    if "age" in kinds and "age" not in f:
        f["age"] = _age(cell)
        return True
    if "phone" in kinds and f.get("phone"):
        f["phone"] = join_value(f["phone"], "", cell)  # a second number: kept with the first
        return True
    for k in ("postal_code", "phone", "email", "birthdate", "grade", "address"):
        if k in kinds and k not in f:
            f[k] = cell
            return True
    return False


_AGE_SUFFIX = re.compile(r"\d\s*(歳|才)$")


def _later_fields(f: dict[str, str], names: tuple[str, ...] | None = None) -> bool:
    later = names or ("gender", "birthdate", "age", "grade", "postal_code", "address", "phone")
    return any(k in f for k in later)


def records_from_text(text: str, where: str) -> list[Record]:
    """Records from a text body, by line and by labelled block."""
    out: list[Record] = []
    block = _Block(where, out)
    for n, line in enumerate(text.splitlines()[:MAX_LINES], start=1):
        if len(out) >= MAX_ROWS:
            break
        stripped = line.strip()
        if not stripped:
            block.flush()
            continue
        cells = [c for c in _SEPARATORS.split(stripped) if c.strip()]
        if len(cells) >= 2:
            block.flush()
            rec = record_from_cells(cells, f"{where}/line{n}")
            if rec is not None:
                out.append(rec)
            continue
        lab = _labelled(stripped)
        if lab is None:
            block.flush()
        else:
            block.add(n, *lab)
    block.flush()
    return out[:MAX_ROWS]


class _Block:
    """The ``label: value`` lines of one record, until a blank line or a repeated label."""

    def __init__(self, where: str, out: list[Record]) -> None:
        self.where = where
        self.out = out
        self.start = 0
        self.fields: dict[str, str] = {}
        self.labels: dict[str, set[str]] = {}  # field -> labels seen (TEL, FAX …)

    def add(self, line_no: int, name: str, value: str, label: str) -> None:
        seen = self.labels.get(name)
        # the same field again starts the next record, unless it is another phone label
        if seen is not None and (name not in REPEATABLE or label in seen):
            self.flush()
            seen = None
        if not self.fields and not self.labels:
            self.start = line_no
        self.labels.setdefault(name, set()).add(label)
        _put(self.fields, name, clean_cell(value), label)

    def flush(self) -> None:
        if self.labels:
            rec = Record(dict(self.fields), {}, f"{self.where}/block{self.start}")
            if any(rec.fields.get(k) for k in _ANCHORS) and rec.filled() >= 2:
                self.out.append(rec)
        self.fields.clear()
        self.labels.clear()
