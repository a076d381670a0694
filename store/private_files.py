"""Files that hold personal data or secrets: created 0600, never wider, never half-written.

Every such file is written under a temporary name in its folder and only then given its
real name, so an interrupted or failed write (Ctrl-C, a full disk) never leaves half a file
and never destroys the one that was there. A path that exists but is not a regular file (a
folder, /dev/full, a pipe) is refused before any work starts, and nothing here ever changes
the mode of a file it did not create.
"""

from __future__ import annotations

import codecs
import csv
import errno
import hashlib
import os
import stat
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import IO, Any

CsvWriter = Any  # the csv module exposes no public writer type

# Bytes that were not valid in an input file's encoding reach us as surrogate escapes; in a
# UTF-8 output they become U+FFFD (the reason column says which column held them).
def _as_replacement_char(exc: UnicodeError) -> tuple[bytes, int]:
    assert isinstance(exc, UnicodeEncodeError)
    return ("\ufffd" * (exc.end - exc.start)).encode(), exc.end


codecs.register_error("leakwatch.fffd", _as_replacement_char)


class OutputError(Exception):
    """An output path that cannot or must not be written (the message says why)."""


def check_output(path: Path, inputs: Iterable[Path] = (), *, must_be_new: bool = False) -> None:
    """Refuse, before any work, an output that could not be written or would destroy an input:
    a missing or read-only folder, a path that is a folder or device, one of the inputs
    (symbolic links and hard links included), or an existing file when ``must_be_new``."""
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise OutputError(f"{path}: the folder {folder} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputError(f"{path}: the folder {folder} is not writable")
    try:
        st = path.stat()
    except FileNotFoundError:
        return
    if stat.S_ISDIR(st.st_mode):
        raise OutputError(f"{path}: is a folder, not a file")
    if not stat.S_ISREG(st.st_mode):
        raise OutputError(f"{path}: is not a regular file (a device or pipe)")
    if must_be_new:
        raise OutputError(f"{path}: exists; this file is never overwritten: give a new name")
    for source in inputs:
        with suppress(OSError):
            if os.path.samefile(path, source):
                raise OutputError(f"{path}: is the input {source}; give another output name")


_NO_ROOM = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS}


def _temp_name(path: Path) -> Path:
    return path.with_name(f".{path.name}.{os.getpid()}.partial")


def _fsync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def private_text(path: Path, *, durable: bool = False, replace: bool = True) -> Iterator[IO[str]]:
    """A UTF-8 text file only its owner can read, given its name only once whole.

    ``replace``: an existing file is replaced (our own earlier output); otherwise the name
    must be free when the file is complete (FileExistsError, nothing written over).
    ``durable``: data and name are on disk (fsync) before this returns.
    """
    tmp = _temp_name(path)
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8", errors="leakwatch.fffd", newline="") as handle:
            yield handle
            handle.flush()
            if durable:
                os.fsync(handle.fileno())
        if replace:
            os.replace(tmp, path)
        else:
            os.link(tmp, path)  # fails if the name was taken meanwhile: never overwrites
            tmp.unlink()
        if durable:
            _fsync_folder(path.parent if str(path.parent) else Path("."))
    except FileExistsError:
        raise OutputError(f"{path}: exists; this file is never overwritten") from None
    except OSError as exc:
        # A full disk, a quota, a read-only file system: nothing half-written stays. Other
        # errors may come from the caller's own reading, and keep their meaning.
        if exc.errno not in _NO_ROOM:
            raise
        raise OutputError(f"{path}: cannot write it: {exc.strerror}") from None
    finally:
        with suppress(FileNotFoundError):
            tmp.unlink()


@contextmanager
def private_csv(path: Path | None, header: list[str]) -> Iterator[CsvWriter | None]:
    """A UTF-8 CSV only its owner can read (see ``private_text``); None when no path."""
    if path is None:
        yield None
        return
    with private_text(path) as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        yield writer


def mode_warnings(paths: Iterable[Path]) -> list[str]:
    """A line for each existing path that group or others may read, write or enter."""
    out = []
    for path in paths:
        try:
            mode = stat.S_IMODE(path.stat().st_mode)
        except OSError:
            continue
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            want = "700" if path.is_dir() else "600"
            out.append(f"{path} has mode {mode:o}: others may read it (chmod {want} {path})")
    return out


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
