"""`leakwatch review label`, `leakwatch model learn` and `model show` on a real store."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from matcher import Candidate
from office.cli import app
from store.matching import match_listing_rows
from store.models import (
    AuditEvent,
    CandidateMatch,
    ListingRow,
    MatchModel,
    ReviewState,
    WatchlistPerson,
)
from store.runtime import Store

runner = CliRunner()


def level(c: Candidate, name: str) -> str:
    return next(f.level for f in c.explanation.fields if f.field == name)


def weight(c: Candidate, name: str) -> float:
    return next(f.weight for f in c.explanation.fields if f.field == name)


def test_labels_then_learn_then_show(
    store: Store, loaded_listing: tuple[list[dict[str, str]], list[dict[str, str]]]
) -> None:
    _, truth = loaded_listing
    match_listing_rows(store)
    shown = runner.invoke(app, ["model", "show"])
    assert shown.exit_code == 0 and "defaults" in shown.output
    refused = runner.invoke(app, ["model", "learn"])
    assert refused.exit_code == 2 and "at least 20 reviewed pairs" in refused.output
    missing = runner.invoke(app, ["review", "label", "999999", "confirmed"])
    assert missing.exit_code == 2 and "no candidate match 999999" in missing.output
    bad = runner.invoke(app, ["review", "label", "1", "maybe"])
    assert bad.exit_code == 2

    want = {t["row_id"]: t["record_id"] for t in truth if t["record_id"]}
    with store.sessions() as s:
        pairs = s.execute(
            select(CandidateMatch.id, ListingRow.row_ref, WatchlistPerson.record_ref)
            .join(ListingRow, CandidateMatch.listing_row_id == ListingRow.id)
            .join(WatchlistPerson, CandidateMatch.person_id == WatchlistPerson.id)
            .order_by(CandidateMatch.id)
        ).all()  # fmt: skip
    first_id, first_row, first_rec = pairs[0]
    first_state = "confirmed" if want.get(first_row) == first_rec else "rejected"
    one = runner.invoke(app, ["review", "label", str(first_id), first_state, "--note", "seen"])
    assert one.exit_code == 0 and f"pending -> {first_state}" in one.output
    with store.sessions() as s:  # the rest as a review screen would save them
        for cid, row_ref, rec in pairs[1:]:
            c = s.get(CandidateMatch, cid)
            assert c is not None
            right = want.get(row_ref) == rec
            c.review_state = ReviewState.CONFIRMED if right else ReviewState.REJECTED
        s.commit()
        labelled = s.get(CandidateMatch, first_id)
        assert labelled is not None and labelled.review_note == "seen"
        assert s.scalars(select(AuditEvent).where(AuditEvent.action == "candidate.reviewed")).one()

    learned = runner.invoke(app, ["model", "learn"])
    assert learned.exit_code == 0, learned.output
    assert "model 1" in learned.output and "unlocated_shift" in learned.output
    shown = runner.invoke(app, ["model", "show"])
    assert shown.exit_code == 0 and "model 1, learned" in shown.output


def test_exported_model_scores_file_matches(
    store: Store, tmp_path: Path, loaded_listing: tuple[list[dict[str, str]], list[dict[str, str]]]
) -> None:
    from matcher import Matcher, Model, WatchlistIndex
    from matcher.model import DEFAULT_SCALE, DEFAULT_SHIFT, probability
    from synth.watchlist import generate_watchlist

    rows, _ = loaded_listing
    # A learned model is stood in for by one with a different calibration, stored as
    # `model learn` would.
    learned = Model(scale=0.5, shift=-1.0)
    with store.sessions() as s:
        s.add(MatchModel(created_by="test", confirmed=30, rejected=30, params=learned.to_json()))
        s.commit()
    exported = tmp_path / "model.json"
    r = runner.invoke(app, ["model", "export", "--out", str(exported)])
    assert r.exit_code == 0 and Model.from_json(exported.read_text()).to_json() == learned.to_json()

    wl = list(generate_watchlist(600, 31))  # the store's watchlist, as a file
    wl_path, listing_path = tmp_path / "w.csv", tmp_path / "l.csv"
    for path, data in ((wl_path, wl), (listing_path, rows)):
        with path.open("w", encoding="utf-8", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=list(data[0]))
            w.writeheader()
            w.writerows(data)

    def scores(*extra: str) -> dict[tuple[str, str], str]:
        out = tmp_path / "m.csv"
        res = runner.invoke(
            app,
            [
                "match",
                "--watchlist",
                str(wl_path),
                "--listing",
                str(listing_path),
                "--out",
                str(out),
                "--no-em",
                *extra,
            ],
        )
        assert res.exit_code == 0, res.output
        with out.open(encoding="utf-8") as fh:
            return {(x["row_id"], x["record_id"]): x["score"] for x in csv.DictReader(fh)}

    default, refined = scores(), scores("--model", str(exported))
    # What the model changes, pair by pair, where nothing else moves the score: a pair no
    # rival household shares its row with. The calibration maps the model's logit ``raw``
    # to ``scale * raw + shift`` for a located pair, so a located pair's logit goes from
    # the defaults' line onto the exported one; an unlocated pair keeps its own calibration
    # (the exported model did not change it), so its score stays.
    found = Matcher(WatchlistIndex.build(wl), em=False).match(rows).candidates
    alone = [c for c in found if weight(c, "rivals") == 0.0]
    located = [c for c in alone if level(c, "location") == "located"]
    unlocated = [c for c in alone if level(c, "location") != "located"]
    assert located and unlocated
    for c in located:
        raw = (c.explanation.logit_bits - DEFAULT_SHIFT) / DEFAULT_SCALE
        want = float(probability(learned.scale * raw + learned.shift))
        assert float(refined[c.row_id, c.record_id]) == pytest.approx(want, abs=1e-6)
        if c.decision == "match":  # scale 0.5 < 1.45: a sure match is less sure now
            assert float(refined[c.row_id, c.record_id]) < float(default[c.row_id, c.record_id])
    assert any(c.decision == "match" for c in located)
    for c in unlocated:
        assert refined[c.row_id, c.record_id] == default[c.row_id, c.record_id]
    broken = tmp_path / "broken.json"
    broken.write_text("{not json", encoding="utf-8")
    bad = runner.invoke(app, ["match", "--watchlist", str(wl_path), "--listing",
                              str(listing_path), "--out", str(tmp_path / "x.csv"),
                              "--model", str(broken)])  # fmt: skip
    assert bad.exit_code == 2 and "not a LeakWatch model" in bad.output
