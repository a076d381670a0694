"""`leakwatch match` and the files it writes: refused before any work when they cannot be
written or would destroy an input, written whole or not at all, and a write error at the
end is one plain line, never a traceback or a half file."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from office.cli import app
from store.private_files import OutputError, write_replacing
from synth.listing import generate_listing
from synth.watchlist import generate_watchlist
from tests.samples import write_csv

runner = CliRunner()


@pytest.fixture
def files(tmp_path: Path, env: dict[str, str]) -> dict[str, Path]:
    """A small synthetic watchlist and listing, and a LeakWatch environment (``env``)."""
    wl = list(generate_watchlist(800, 51))
    rows, _ = generate_listing(wl, 150, 52)
    paths = {"watchlist": tmp_path / "w.csv", "listing": tmp_path / "l.csv"}
    write_csv(paths["watchlist"], wl, columns=list(wl[0]))
    write_csv(paths["listing"], rows, columns=list(rows[0]))
    return paths


def match(files: dict[str, Path], out: Path | str, *extra: str) -> Result:
    return runner.invoke(app, ["match", "--watchlist", str(files["watchlist"]), "--listing",
                               str(files["listing"]), "--out", str(out), *extra])  # fmt: skip


def refused(result: Result, *words: str) -> str:
    """The one error line of a refused run (exit 2, no traceback), checked for ``words``."""
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    lines = [ln for ln in result.output.splitlines() if ln.strip()]
    text = " ".join(" ".join(lines).split())  # Rich may wrap a long line
    assert text.startswith("error:") and "Traceback" not in text, text
    for w in words:
        assert w in text, (w, text)
    return text


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}


def test_outputs_that_cannot_be_written_are_refused_before_any_work(
    files: dict[str, Path], tmp_path: Path
) -> None:
    idx = tmp_path / "w.idx"  # saved halfway through a run: never there if none started
    folder = tmp_path / "a-folder"
    folder.mkdir()
    refused(match(files, folder, "--save-index", str(idx)), str(folder), "is a folder")
    missing = tmp_path / "no-such-folder" / "m.csv"
    refused(match(files, missing, "--save-index", str(idx)), "does not exist")
    # A device or a pipe (/dev/full is one: a file in tmp stands in for it, so that a broken
    # check could never replace the system's device with a regular file).
    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    (tmp_path / "link-to-pipe").symlink_to(pipe)
    for odd in (pipe, tmp_path / "link-to-pipe"):
        refused(match(files, odd, "--save-index", str(idx)), str(odd), "not a regular file")
    assert pipe.is_fifo()
    (tmp_path / "m.csv.rejects.csv").mkdir()  # where the listing's bad rows would go
    refused(match(files, tmp_path / "m.csv", "--save-index", str(idx)), "m.csv.rejects.csv",
            "is a folder")  # fmt: skip
    refused(match(files, tmp_path / "ok.csv", "--save-index", str(folder)), "--save-index",
            "is a folder")  # fmt: skip
    assert not idx.exists() and not (tmp_path / "ok.csv").exists()


def test_an_output_naming_an_input_is_refused_and_the_input_kept(
    files: dict[str, Path], tmp_path: Path
) -> None:
    idx = tmp_path / "w.idx"
    assert match(files, tmp_path / "first.csv", "--save-index", str(idx)).exit_code == 0
    before = snapshot(tmp_path)
    (tmp_path / "link.csv").symlink_to(files["listing"])
    os.link(files["watchlist"], tmp_path / "hard.csv")
    for out in (files["listing"], files["watchlist"], tmp_path / "link.csv",
                tmp_path / "hard.csv", tmp_path / "sub" / ".." / "l.csv"):  # fmt: skip
        (tmp_path / "sub").mkdir(exist_ok=True)
        refused(match(files, out), "would overwrite the input")
    reuse = ["match", "--index", str(idx), "--listing", str(files["listing"])]
    refused(runner.invoke(app, [*reuse, "--out", str(idx)]), "would overwrite the input",
            "w.idx")  # fmt: skip
    refused(match(files, tmp_path / "m.csv", "--save-index", str(files["watchlist"])),
            "--save-index would overwrite the input")  # fmt: skip
    refused(match(files, tmp_path / "m.csv", "--save-index", str(tmp_path / "m.csv")),
            "--save-index and --out are the same file")  # fmt: skip
    after = snapshot(tmp_path)
    assert {k: after[k] for k in before} == before  # not a byte of any input changed


@pytest.fixture
def sealed_folder(tmp_path: Path) -> Iterator[Path]:
    """A folder nobody may create files in: immutable for root (who ignores modes), read
    and search only for anyone else."""
    folder = tmp_path / "sealed"
    folder.mkdir()
    if os.geteuid() == 0:
        if (
            shutil.which("chattr") is None
            or subprocess.run(
                ["chattr", "+i", str(folder)], capture_output=True, check=False
            ).returncode
            != 0
        ):
            pytest.skip("running as root where chattr +i is unavailable")
        try:
            yield folder
        finally:
            subprocess.run(["chattr", "-i", str(folder)], check=True)
        return
    folder.chmod(0o555)
    try:
        yield folder
    finally:
        folder.chmod(0o755)


def test_a_folder_that_takes_no_files_is_refused(
    files: dict[str, Path], tmp_path: Path, sealed_folder: Path
) -> None:
    out = sealed_folder / "m.csv"
    refused(match(files, out), str(out), "cannot write in folder", "permission denied")
    refused(match(files, tmp_path / "m.csv", "--save-index", str(sealed_folder / "w.idx")),
            "cannot write in folder")  # fmt: skip


def test_a_successful_run_replaces_the_old_output_whole(
    files: dict[str, Path], tmp_path: Path
) -> None:
    out = tmp_path / "m.csv"
    out.write_text("old results\n", encoding="utf-8")
    out.chmod(0o640)
    r = match(files, out)
    assert r.exit_code == 0, r.output
    text = out.read_text(encoding="utf-8")
    assert text.startswith("row_id,record_id,score,decision\n") and text.count("\n") > 50
    assert out.stat().st_mode & 0o777 == 0o640  # the replaced file's permissions kept
    assert not [p.name for p in tmp_path.iterdir() if p.name.endswith(".partial")]


FSIZE_PROBE = """
import resource, signal, sys
# A file-size limit makes every write past it fail with EFBIG, as a full disk fails with
# ENOSPC: a real write error from the kernel, at the end of the run.
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
limit = int(sys.argv[1])
resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
sys.argv = ["leakwatch", *sys.argv[2:]]
from office.cli import main
main()
"""


@pytest.mark.parametrize("save_index", [False, True])
def test_a_write_error_is_one_line_and_leaves_the_old_file(
    files: dict[str, Path], tmp_path: Path, save_index: bool
) -> None:
    out, idx = tmp_path / "m.csv", tmp_path / "w.idx"
    # The sizes a run writes, to set the limit between the old files and the new ones.
    r = match(files, tmp_path / "full.csv", "--save-index", str(tmp_path / "full.idx"))
    assert r.exit_code == 0, r.output
    failed, written = (idx, tmp_path / "full.idx") if save_index else (out, tmp_path / "full.csv")
    limit = written.stat().st_size // 2
    old = b"old contents\n"
    assert len(old) < limit
    out.write_bytes(old)
    idx.write_bytes(old)
    cmd = [sys.executable, "-c", FSIZE_PROBE, str(limit), "match", "--watchlist",
           str(files["watchlist"]), "--listing", str(files["listing"]), "--out", str(out),
           *(["--save-index", str(idx)] if save_index else [])]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "COLUMNS": "200"}, check=False)  # fmt: skip
    assert done.returncode == 2, done.stderr
    errors = [ln for ln in done.stderr.splitlines() if ln.startswith("error:")]
    assert errors == [f"error: {failed}: cannot write: File too large"], done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    assert out.read_bytes() == old and idx.read_bytes() == old  # neither half written
    assert not [p.name for p in tmp_path.iterdir() if p.name.endswith(".partial")]


def test_a_device_or_pipe_is_never_replaced(tmp_path: Path) -> None:
    """Whatever let it through, the writer itself never renames a file over a device or a
    pipe (as root it could replace /dev/full)."""
    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    with pytest.raises(OutputError, match="not a regular file"):
        write_replacing(pipe, lambda fh: fh.write(b"data"))
    assert pipe.is_fifo() and [p.name for p in tmp_path.iterdir()] == ["pipe"]
