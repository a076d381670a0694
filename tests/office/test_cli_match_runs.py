"""`leakwatch match` on what brokers really publish and what a store really holds: phone cells
of several numbers, an index saved under a key no longer in the ring, and a summary that
accounts for every listing's as-of date."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from matcher.asof import MIN_ANCHORS
from office.cli import app
from store.keyring import MasterKey
from store.match_files import match_files
from synth.listing import generate_listing
from synth.watchlist import generate_watchlist
from tests.samples import write_csv

runner = CliRunner()


@pytest.fixture
def data(env: dict[str, str]) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """A synthetic watchlist and a listing of it (and a LeakWatch environment)."""
    wl = list(generate_watchlist(1500, 21))
    rows, _ = generate_listing(wl, 300, 22)
    return wl, rows


def flat(text: str) -> str:
    return " ".join(text.split())


def matches(path: Path) -> dict[tuple[str, str], str]:
    with path.open(encoding="utf-8", newline="") as fh:
        return {(r["row_id"], r["record_id"]): r["decision"] for r in csv.DictReader(fh)}


def run(wl_path: Path, rows: list[dict[str, str]], out: Path, *extra: str) -> Result:
    listing = write_csv(out.with_suffix(".listing.csv"), rows, columns=list(rows[0]))
    return runner.invoke(app, ["match", "--watchlist", str(wl_path), "--listing", str(listing),
                               "--out", str(out), *extra])  # fmt: skip


# How brokers write a cell of several numbers; {0} is the number the row had, the others
# toll-free numbers nobody registers.
SEVERAL = ("{0} 0120-000-111", "TEL/FAX {0}/0120-000-222", "{0}、0120-000-333",
           "0120-000-444 {0}")  # fmt: skip


def test_cells_of_several_numbers_match_as_their_own_number_did(
    data: tuple[list[dict[str, str]], list[dict[str, str]]], tmp_path: Path
) -> None:
    """The reported crash (OverflowError on ``03-1234-5678 090-1234-5678``) is gone, and a
    row keeps every match its number gave it, wherever in the cell the number stands."""
    wl, rows = data
    wl_path = write_csv(tmp_path / "w.csv", wl, columns=list(wl[0]))
    plain = run(wl_path, rows, tmp_path / "plain.csv")
    assert plain.exit_code == 0, plain.output
    edited = [dict(r) for r in rows]
    changed = [r for r in edited if r["phone"] and "*" not in r["phone"]]
    for i, r in enumerate(changed):
        r["phone"] = SEVERAL[i % len(SEVERAL)].format(r["phone"])
    several = run(wl_path, edited, tmp_path / "several.csv")
    assert several.exit_code == 0, several.output
    ids = {r["row_id"] for r in changed}
    before = {k for k, d in matches(tmp_path / "plain.csv").items() if d == "match"}
    after = {k for k, d in matches(tmp_path / "several.csv").items() if d == "match"}
    kept = {k for k in before if k[0] in ids}
    assert kept and kept <= after  # every match of a changed row is still there
    assert after == before  # nor is any match gained or lost elsewhere
    crash = dict(rows[0], phone="03-1234-5678 090-1234-5678")
    assert run(wl_path, [crash], tmp_path / "crash.csv").exit_code == 0


def test_an_index_no_key_opens_says_why_and_what_to_do(
    data: tuple[list[dict[str, str]], list[dict[str, str]]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    wl, rows = data
    wl_path = write_csv(tmp_path / "w.csv", wl, columns=list(wl[0]))
    idx = tmp_path / "w.idx"
    assert run(wl_path, rows, tmp_path / "m.csv", "--save-index", str(idx)).exit_code == 0
    # The ring now holds another key only: the one the index was sealed with rotated away
    # (or this is another store).
    monkeypatch.setenv("LEAKWATCH_KEY", MasterKey.generate().to_text())
    listing = tmp_path / "m.listing.csv"
    r = runner.invoke(app, ["match", "--index", str(idx), "--listing", str(listing), "--out",
                            str(tmp_path / "again.csv")])  # fmt: skip
    assert r.exit_code == 2 and (r.exception is None or isinstance(r.exception, SystemExit))
    text = flat(r.output)
    assert text.startswith(f"error: {idx}: none of the keys in the key ring opens this index")
    assert "no longer in the ring (rotated away" in text and "another store's key" in text
    assert "--save-index" in text and "Traceback" not in text
    assert not (tmp_path / "again.csv").exists()


def test_the_summary_gives_every_listings_as_of(
    data: tuple[list[dict[str, str]], list[dict[str, str]]], tmp_path: Path
) -> None:
    """Dated, not needed, or not inferred: one line for each listing, none left out."""
    wl, rows = data
    aged = [r for r in rows if r["age"] or r["grade"]]
    few = [dict(r, listing_id="L-few", birthdate="") for r in aged[: MIN_ANCHORS - 1]]
    wl_path = write_csv(tmp_path / "w.csv", wl, columns=list(wl[0]))
    listing = write_csv(tmp_path / "l.csv", rows + few, columns=list(rows[0]))
    out = tmp_path / "m.csv"
    done = match_files(listing, out, watchlist=wl_path)
    inferred = {lid for lid, iv in done.result.as_of.items() if iv is not None}
    aged_ids = {r["listing_id"] for r in aged + few}
    assert inferred and inferred < aged_ids  # L-few: too few rows to date it
    listings = {r["listing_id"] for r in rows + few}
    assert listings - aged_ids  # and some listings give no age at all

    r = runner.invoke(app, ["match", "--watchlist", str(wl_path), "--listing", str(listing),
                            "--out", str(out)], env={"COLUMNS": "200"})  # fmt: skip
    assert r.exit_code == 0, r.output
    shown = {line.split(" as of")[0].split("listing ")[-1]: line
             for line in r.output.splitlines() if " as of" in line}  # fmt: skip
    assert set(shown) == listings
    for lid in listings:
        if lid in inferred:
            assert "(inferred)" in shown[lid]
        elif lid in aged_ids:
            assert "not inferred (too few rows agree on birth dates)" in shown[lid]
        else:
            assert "not needed (no row gives an age or a grade)" in shown[lid]
