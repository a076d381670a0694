"""The comparison levels' tables: what the comparison, the model and the explanations are built
from, and what docs/matcher.md shows."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from matcher import Matcher, WatchlistIndex
from matcher.levels import (
    FIELD_LEVELS,
    FIELDS,
    Birth,
    ComparisonLevel,
    Phone,
    labels,
    m_classes,
    m_priors,
)
from matcher.model import HOUSEHOLD_FIELDS, IDENTITY_FIELDS, SPEC, Model
from synth.listing import generate_listing

DOC = Path(__file__).resolve().parents[2] / "docs" / "matcher.md"


@pytest.mark.parametrize("field", FIELDS)
def test_a_fields_table_is_complete_and_consistent(field: str) -> None:
    levels = FIELD_LEVELS[field]
    assert [int(lv) for lv in levels] == list(range(len(levels)))  # codes are positions
    first, *rest = levels
    assert first.spec.null and not any(lv.spec.null for lv in rest)
    assert len(set(labels(levels))) == len(levels)
    priors = m_priors(levels)
    assert all(0 < m < 1 for m in priors) and sum(priors) == pytest.approx(1.0)
    assert all(0 < lv.spec.u <= 1 for lv in levels)
    classes = m_classes(levels)
    assert classes[0] == -1 and sorted(set(classes[1:])) == list(range(len(priors)))
    for lv in levels:
        if lv.spec.same_m_as:  # names an earlier level with an m of its own
            earlier = [x for x in levels if x.label == lv.spec.same_m_as]
            assert earlier and earlier[0] < lv and earlier[0].spec.m is not None


def test_the_model_is_built_from_the_tables() -> None:
    assert SPEC["birth"].classes == (-1, 0, 1, 2, 2)  # range and exact share one m
    assert SPEC["phone"].classes == (-1, 0, 1, 1)
    assert Model().m["place"] == list(m_priors(FIELD_LEVELS["place"]))
    # The fields that tell a household's members apart are those with a within-household u.
    assert IDENTITY_FIELDS == ("given_name", "birth", "gender", "email")
    assert HOUSEHOLD_FIELDS == ("family_name", "place", "phone", "guardian")


def test_levels_are_compared_by_name_and_order() -> None:
    lv = np.array([0, 2, 3, 4], dtype=np.int8)
    assert (lv >= Birth.RANGE).tolist() == [False, False, True, True]
    assert (lv == Birth.EXACT).tolist() == [False, False, False, True]
    assert Phone.MASKED_COMPATIBLE.label == "masked_compatible"
    assert isinstance(Birth.RANGE, ComparisonLevel)


def test_a_comparison_sets_only_levels_of_its_fields_table(
    index: WatchlistIndex, watchlist: list[dict[str, str]]
) -> None:
    rows, _ = generate_listing(watchlist, 200, 8)
    res = Matcher(index).match(rows)
    assert res.comparison is not None and len(res.comparison)
    for field, levels in FIELD_LEVELS.items():
        seen = np.unique(res.comparison.levels[field])
        assert seen.min() >= 0 and seen.max() < len(levels)
    for c in res.candidates:  # explanations label levels by their names
        for f in c.explanation.fields:
            if f.field in FIELD_LEVELS:
                assert f.level in labels(FIELD_LEVELS[f.field])


def test_the_documents_table_lists_every_level() -> None:
    """docs/matcher.md's table of levels is the code's, field by field, in order."""
    text = DOC.read_text(encoding="utf-8")
    for field, levels in FIELD_LEVELS.items():
        assert _table_rows(text, field) == list(labels(levels)), field


def _table_rows(text: str, field: str) -> list[str]:
    """The level labels of ``field``'s rows in the document's table (a row starting with
    the field's name, and the rows after it with an empty first cell)."""
    out: list[str] = []
    current = ""
    for line in text.splitlines():
        m = re.match(r"^\| *(`(\w+)`)? *\| `(\w+)` \|", line)
        if not m:
            current = "" if not line.startswith("|") else current
            continue
        if m.group(2):
            current = m.group(2)
        if current == field:
            out.append(m.group(3))
    return out


def test_a_saved_model_is_read_by_its_m_classes_names() -> None:
    """A model names its m-classes: read by name after the tables change order, refused
    when a class is unknown; one saved without names is read in today's order."""
    import json

    text = Model().to_json()
    assert Model.from_json(text).to_json() == text
    saved = json.loads(text)
    del saved["m_classes"]
    assert Model.from_json(json.dumps(saved)).to_json() == text
    saved = json.loads(text)
    saved["m_classes"]["birth"] = ["range", "disagree", "near"]  # written in another order
    saved["m"]["birth"] = [0.9, 0.06, 0.04]
    assert Model.from_json(json.dumps(saved)).m["birth"] == [0.06, 0.04, 0.9]
    saved["m_classes"]["birth"] = ["range", "disagree", "nearby"]
    with pytest.raises(ValueError, match="learn it again"):
        Model.from_json(json.dumps(saved))
