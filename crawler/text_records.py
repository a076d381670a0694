"""Records in free text: paste sites, forum posts, ``<pre>`` dumps.

Two layouts are recognised without per-site code:

* one record per line, values separated by ``|``, ``｜``, a tab, `` / `` or ``／``; each value is
  labelled (``TEL:03-…``, ``氏名：…``) or recognised by its content (postal codes, phones, e-mail,
  dates, ages, grades, addresses, runs of name characters, in the order a list gives them);
* blocks of ``label: value`` lines, one record per block (a repeated label starts the next).

A line or block is a record only when it yields at least two fields, one of them an anchor
(phone, postal code, address, e-mail) — so prose is not mistaken for data.
"""

from __future__ import annotations

import re

from crawler.fields import classify_value, field_for_header
from crawler.tables import MAX_ROWS, Record, clean_cell

_SEPARATORS = re.compile(r"\s*[|｜\t]\s*|\s+[/／]\s+|／")
_LABELLED = re.compile(r"^\s*([^:：=＝]{1,12})\s*[:：=＝]\s*(.*)$")
_ANCHORS = ("phone", "postal_code", "address", "email")
_PREFIX_LABELS = {"〒": "postal_code", "TEL": "phone", "Tel": "phone", "tel": "phone"}
MAX_LINES = 200_000


def _labelled(cell: str) -> tuple[str, str] | None:
    m = _LABELLED.match(cell)
    if not m:
        return None
    name = field_for_header(m.group(1))
    if name is None:
        return None
    return name, m.group(2).strip()


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
        if lab is not None and lab[0] not in f:
            f[lab[0]] = lab[1]
            continue
        forced, cell = _strip_prefix(cell)
        if forced and forced not in f:
            f[forced] = cell
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
        f["age"] = re.sub(r"\s*(歳|才)$", "", cell) if _AGE_SUFFIX.search(cell) else cell
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
    block: list[tuple[str, str]] = []
    block_start = 0

    def flush_block() -> None:
        if block:
            rec = Record({}, {}, f"{where}/line{block_start}")
            for name, value in block:
                rec.fields.setdefault(name, clean_cell(value))
            if any(rec.fields.get(k) for k in _ANCHORS) and rec.filled() >= 2:
                out.append(rec)
        block.clear()

    for n, line in enumerate(text.splitlines()[:MAX_LINES], start=1):
        if len(out) >= MAX_ROWS:
            break
        stripped = line.strip()
        if not stripped:
            flush_block()
            continue
        cells = [c for c in _SEPARATORS.split(stripped) if c.strip()]
        if len(cells) >= 2:
            flush_block()
            rec = record_from_cells(cells, f"{where}/line{n}")
            if rec is not None:
                out.append(rec)
            continue
        lab = _labelled(stripped)
        if lab is not None:
            if any(name == lab[0] for name, _ in block):
                flush_block()
            if not block:
                block_start = n
            block.append(lab)
        else:
            flush_block()
    flush_block()
    return out

