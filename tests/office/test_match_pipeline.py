"""`leakwatch match` with the watchlist read and normalised by worker processes, range by
range, gives what reading it in one process gives: the same matches, persons and rejects."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
import time
from itertools import pairwise
from pathlib import Path

import pytest

from matcher import WatchlistIndex
from store import match_build
from store.csv_input import ByteRange
from store.match_files import index_keys, match_files
from synth.listing import generate_listing
from synth.watchlist import generate_watchlist
from tests.samples import assert_same_index, write_csv

FIRST, LATER = 3000, 200  # good persons before and after the bad records


def bad_records(width: int) -> list[bytes]:
    """Bad records among the good, for a file of ``width`` columns: each rejected, none lost
    (too few fields, no record id, bytes that are not UTF-8)."""
    return [b"P-short,only two\n", b",no id," + b"," * (width - 3) + b"\n",
            b"P-bytes,\xff\xfe" + b"," * (width - 2) + b"\n"]  # fmt: skip


@pytest.fixture
def files(tmp_path: Path, env: dict[str, str]) -> tuple[Path, Path]:
    """Synthetic watchlist and listing files, and a LeakWatch environment (``env``)."""
    wl = list(generate_watchlist(FIRST, 31))
    listing, _ = generate_listing(wl, 400, 32)
    wl_path, listing_path = tmp_path / "w.csv", tmp_path / "l.csv"
    write_csv(wl_path, wl, columns=list(wl[0]))
    with wl_path.open("ab") as fh:
        fh.writelines(bad_records(len(wl[0])))
    with wl_path.open("a", encoding="utf-8", newline="") as fh:
        csv.DictWriter(fh, fieldnames=list(wl[0])).writerows(generate_watchlist(LATER, 33))
    write_csv(listing_path, listing, columns=list(listing[0]))
    return wl_path, listing_path


def run(files: tuple[Path, Path], out: Path) -> tuple[list[str], str, int, dict[str, float]]:
    wl, listing = files
    r = match_files(listing, out, watchlist=wl, save_index=out.with_suffix(".idx"))
    rejects = wl.with_name(wl.name + ".rejects.csv")
    return (sorted(out.read_text(encoding="utf-8").splitlines()),
            rejects.read_text(encoding="utf-8"), r.persons, r.seconds)  # fmt: skip


def test_workers_build_what_one_process_builds(
    files: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    monkeypatch.setattr(match_build, "RANGE_BYTES", 20_000)  # many ranges from a small file
    lines, rejects, persons, seconds = run(files, tmp_path / "par.csv")
    assert "normalise listing" in seconds  # the workers' path was taken

    monkeypatch.setattr(match_build, "parallel_ranges", lambda *_: None)
    one_lines, one_rejects, one_persons, one_seconds = run(files, tmp_path / "one.csv")
    assert "normalise listing" not in one_seconds

    assert persons == one_persons == FIRST + LATER
    assert lines == one_lines and len(lines) > 100
    key = index_keys()[0]
    assert_same_index(*(WatchlistIndex.load(tmp_path / f"{n}.idx", key) for n in ("par", "one")))
    assert rejects == one_rejects
    reasons = [row[1] for row in csv.reader(rejects.splitlines()[1:])]
    assert len(reasons) == len(bad_records(0))
    assert any("expected" in r for r in reasons)
    assert any("record_id: empty" in r for r in reasons)
    assert any("not utf-8" in r for r in reasons)


@pytest.mark.parametrize(("n", "workers"), [(1, 2), (7, 2), (120, 2), (120, 4), (33, 8)])
def test_ranges_cover_the_file_in_order_and_shrink_towards_its_end(n: int, workers: int) -> None:
    pieces = [ByteRange(10 * i, 10 * (i + 1), 3 * i + 2) for i in range(n)]
    ranges = match_build.guided(pieces, workers)
    assert ranges[0].start == 0 and ranges[-1].end == 10 * n and ranges[0].line == 2
    for a, b in pairwise(ranges):
        assert a.end == b.start and b.line == 3 * (b.start // 10) + 2
    sizes = [(r.end - r.start) // 10 for r in ranges]
    assert max(sizes) <= match_build.PIECES
    assert sizes[-1] == 1  # the last range is a single piece
    tail = sizes[len(sizes) // 2 :]
    assert tail == sorted(tail, reverse=True)
    if n >= 100:  # a big file: full ranges first, few ranges in all
        assert sizes[0] == match_build.PIECES and len(ranges) < n / 3


@pytest.mark.parametrize("failure", ["raises", "dies"])
def test_a_failing_helper_stops_the_run_with_a_clear_error(
    files: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failure: str
) -> None:
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    monkeypatch.setattr(match_build, "RANGE_BYTES", 20_000)
    parent, read = os.getpid(), match_build._read_range

    def failing(file: match_build.WatchlistFile, rng: ByteRange) -> match_build.Result:
        if os.getpid() == parent:
            time.sleep(0.05)  # so that the helper surely gets ranges of its own
            return read(file, rng)
        if failure == "dies":
            os._exit(3)
        raise ValueError("disk on fire")

    monkeypatch.setattr(match_build, "_read_range", failing)
    message = "disk on fire" if failure == "raises" else r"ended early \(exit codes \[3\]\)"
    with pytest.raises(RuntimeError, match=message):
        run(files, tmp_path / "m.csv")


def test_a_quoted_watchlist_is_cut_where_records_end_and_a_lone_cr_one_read_whole(
    files: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    monkeypatch.setattr(match_build, "RANGE_BYTES", 20_000)
    wl, _ = files
    with wl.open(encoding="utf-8", newline="") as fh:
        rest = "," * (len(next(csv.reader(fh))) - 2)  # the empty fields after id and name
    with wl.open("a", encoding="utf-8", newline="") as fh:  # a quoted name holding a line break
        fh.write(f'P-q,"山田\n太郎"{rest}\n')
    lines, rejects, persons, seconds = run(files, tmp_path / "q.csv")
    assert "normalise listing" in seconds  # cut into ranges all the same
    ranges = match_build.parallel_ranges
    monkeypatch.setattr(match_build, "parallel_ranges", lambda *_: None)
    assert run(files, tmp_path / "q1.csv")[:3] == (lines, rejects, persons)
    assert persons == FIRST + LATER + 1 and lines  # the quoted one too
    monkeypatch.setattr(match_build, "parallel_ranges", ranges)
    with wl.open("a", encoding="utf-8", newline="") as fh:  # a lone carriage return
        fh.write(f"P-cr,山田\r太郎{rest}\n")
    assert "normalise listing" not in run(files, tmp_path / "cr.csv")[3]


def test_the_console_script_ends_quickly_with_everything_written(
    files: tuple[Path, Path], tmp_path: Path
) -> None:
    """`python -m office match` skips the interpreter's teardown (os._exit) only once the
    matches, the rejects and the summary are all out."""
    wl, listing = files
    out = tmp_path / "m.csv"
    env = {**os.environ, "LEAKWATCH_HOME": str(tmp_path / "home"), "COLUMNS": "200"}
    r = subprocess.run([sys.executable, "-m", "office", "match", "--watchlist", str(wl),
                        "--listing", str(listing), "--out", str(out)],
                       capture_output=True, text=True, env=env, timeout=120)  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "rows matched" in r.stdout and "time: total" in r.stdout
    text = out.read_text(encoding="utf-8")
    assert text.endswith("\n") and len(text.splitlines()) > 100
    rejects = wl.with_name(wl.name + ".rejects.csv").read_text(encoding="utf-8")
    assert rejects.count("\n") == 1 + len(bad_records(0))  # a header, then each bad record
    missing = str(tmp_path / "missing.csv")
    bad = subprocess.run([sys.executable, "-m", "office", "match", "--watchlist", missing,
                          "--listing", str(listing), "--out", str(out)],
                         capture_output=True, text=True, env=env, timeout=120)  # fmt: skip
    assert bad.returncode == 2 and "no such file" in bad.stderr
