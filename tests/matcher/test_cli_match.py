"""`leakwatch match` end to end on small synthetic files."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from typer.testing import CliRunner

from office.cli import app
from synth.listing import generate_listing
from synth.watchlist import generate_watchlist


def write(path: Path, rows: list[dict[str, str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)


@pytest.fixture
def files(tmp_path: Path, env: dict[str, str]) -> dict[str, Path]:
    """Synthetic watchlist and listing files, and a LeakWatch environment (``env``)."""
    wl = list(generate_watchlist(1500, 21))
    rows, truth = generate_listing(wl, 300, 22)
    paths = {k: tmp_path / f"{k}.csv" for k in ("watchlist", "listing", "truth")}
    write(paths["watchlist"], wl)
    write(paths["listing"], rows)
    write(paths["truth"], truth)
    return paths


def flat(text: str) -> str:
    """Rich wraps long lines: compare with whitespace collapsed."""
    return " ".join(text.split())


def read(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def test_match_end_to_end_and_index_reuse(files: dict[str, Path], tmp_path: Path) -> None:
    out, idx = tmp_path / "m.csv", tmp_path / "w.idx"
    r = CliRunner().invoke(app, ["match", "--watchlist", str(files["watchlist"]), "--listing",
                                 str(files["listing"]), "--out", str(out), "--save-index",
                                 str(idx)])  # fmt: skip
    assert r.exit_code == 0, r.output
    assert "rows matched" in flat(r.output) and "example" in flat(r.output)
    got = read(out)
    assert list(got[0]) == ["row_id", "record_id", "score", "decision"]
    pairs = [(g["row_id"], g["record_id"]) for g in got]
    assert len(pairs) == len(set(pairs))
    assert all(0 <= float(g["score"]) <= 1 for g in got)
    assert {g["decision"] for g in got} <= {"match", "review", "nonmatch"}
    truth = {t["row_id"]: t["record_id"] for t in read(files["truth"]) if t["record_id"]}
    matched = [g for g in got if g["decision"] == "match"]
    right = sum(truth.get(g["row_id"]) == g["record_id"] for g in matched)
    assert right / len(matched) >= 0.97 and right / len(truth) >= 0.8
    # The saved index is encrypted and gives the same answers without the watchlist.
    assert "record_id" not in idx.read_bytes().decode("latin-1")
    out2 = tmp_path / "m2.csv"
    r2 = CliRunner().invoke(app, ["match", "--index", str(idx), "--listing",
                                  str(files["listing"]), "--out", str(out2)])  # fmt: skip
    assert r2.exit_code == 0, r2.output
    assert read(out2) == got
    # An index saved by an older LeakWatch (other normalisation) is refused with what to do.
    from matcher import WatchlistIndex
    from matcher.sealing import seal_blob
    from store.match_files import index_keys
    from tests.samples import old_version

    key = index_keys()[0]
    old = tmp_path / "old.idx"
    old.write_bytes(seal_blob(old_version(WatchlistIndex.load(idx, key)), key))
    r3 = CliRunner().invoke(app, ["match", "--index", str(old), "--listing",
                                  str(files["listing"]), "--out", str(out2)])  # fmt: skip
    assert r3.exit_code == 2 and "build it again" in flat(r3.output)


def test_bad_input_gets_a_clear_error(files: dict[str, Path], tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "m.csv"
    r = runner.invoke(
        app,
        [
            "match",
            "--watchlist",
            str(tmp_path / "missing.csv"),
            "--listing",
            str(files["listing"]),
            "--out",
            str(out),
        ],
    )
    assert r.exit_code == 2 and "missing.csv: no such file" in flat(r.output)
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n", encoding="utf-8")
    r = runner.invoke(app, ["match", "--watchlist", str(files["watchlist"]), "--listing",
                            str(bad), "--out", str(out)])  # fmt: skip
    assert r.exit_code == 2 and "line 1: missing column(s) name" in flat(r.output)
    # A broken row goes to the reject file with its line; the good rows are still matched.
    text = files["listing"].read_text(encoding="utf-8").splitlines()
    at = 3  # after the header and two rows: the file's line at + 1
    text.insert(at, "R9,only,three")
    broken = tmp_path / "broken.csv"
    broken.write_text("\n".join(text) + "\n", encoding="utf-8")
    r = runner.invoke(app, ["match", "--watchlist", str(files["watchlist"]), "--listing",
                            str(broken), "--out", str(out)])  # fmt: skip
    assert r.exit_code == 0, r.output
    rejects = read(tmp_path / "m.csv.rejects.csv")
    width = len(next(csv.reader(text[:1])))  # the header's columns
    assert rejects[0]["line"] == str(at + 1)
    assert f"expected {width} fields" in rejects[0]["reason"]
    r = runner.invoke(app, ["match", "--listing", str(files["listing"]), "--out", str(out)])
    assert r.exit_code == 2 and "--watchlist" in flat(r.output)
    r = runner.invoke(app, ["match", "--index", str(files["listing"]), "--listing",
                            str(files["listing"]), "--out", str(out)])  # fmt: skip
    assert r.exit_code == 2 and "not a LeakWatch index" in flat(r.output)
    r = runner.invoke(app, ["match", "--watchlist", str(files["watchlist"]), "--listing",
                            str(files["listing"]), "--out", str(out), "--match-threshold",
                            "0.1"])  # fmt: skip
    assert r.exit_code == 2 and "thresholds" in flat(r.output)


def test_console_script_matches_without_store_imports_and_skips_the_teardown(
    files: dict[str, Path], tmp_path: Path
) -> None:
    """`leakwatch match` as a process: the database layer, Scrapy and the synthetic-data
    generator are never imported, and the process ends with os._exit (no interpreter teardown of
    the index) after a successful run — checked by a probe wrapped around os._exit."""
    import os
    import subprocess
    import sys

    out = tmp_path / "m.csv"
    probe = (
        "import os, sys\n"
        "real_exit = os._exit\n"
        "def probe(code):\n"
        "    print('quick exit', code, 'heavy', sorted(m for m in ('sqlalchemy', 'alembic',"
        " 'scrapy', 'synth') if m in sys.modules), file=sys.stderr, flush=True)\n"
        "    real_exit(code)\n"
        "os._exit = probe\n"
        "sys.argv = ['leakwatch', *sys.argv[1:]]\n"
        "from office.cli import main\n"
        "main()\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe, "match", "--watchlist", str(files["watchlist"]),
         "--listing", str(files["listing"]), "--out", str(out)],
        env={**os.environ, "COLUMNS": "120"}, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "quick exit 0 heavy []" in done.stderr
    assert read(out)
