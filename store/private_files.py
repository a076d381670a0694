"""Files LeakWatch writes: checked before any work, never half-written, 0600 when private.

Every output is checked before the work that produces it starts (:func:`check_outputs`: its
folder exists and takes files, it is not a folder, a device or a pipe, it is none of the
inputs — symbolic and hard links included — nor another output), then written under a
temporary name beside it and only then given its name (:func:`replacing`): an interrupted or
failed write (Ctrl-C, a full disk) never leaves half a file and never destroys the one that
was there, and ends in one :class:`OutputError` naming the file and the reason. A symbolic
link is followed: its target is what gets replaced. Nothing here renames a file over a
device or a pipe, nor changes the mode of a file it did not create.

Two kinds of file: *private* ones (personal data, keys: rejected rows, login codes, a saved
index) are created 0600, never wider; others (the matches) keep the mode of the file they
replace, or get what the umask allows. Text is UTF-8; bytes that were not valid in an input
file's encoding (surrogate escapes) are written as U+FFFD.
"""

from __future__ import annotations

import codecs
import csv
import errno
import hashlib
import io
import os
import stat
import tempfile
from collections.abc import Callable, Collection, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, TypeVar

CsvWriter = Any  # the csv module exposes no public writer type
T = TypeVar("T")
PRIVATE = 0o600


# Bytes that were not valid in an input file's encoding reach us as surrogate escapes; in a
# UTF-8 output they become U+FFFD (the reason column says which column held them).
def _as_replacement_char(exc: UnicodeError) -> tuple[bytes, int]:
    assert isinstance(exc, UnicodeEncodeError)
    return ("\ufffd" * (exc.end - exc.start)).encode(), exc.end


codecs.register_error("leakwatch.fffd", _as_replacement_char)


class OutputError(Exception):
    """An output path that cannot or must not be written (the message says why)."""


# --- checks before any work -------------------------------------------------------------------


def check_outputs(
    outputs: Iterable[tuple[str, Path]],
    inputs: Iterable[Path] = (),
    *,
    deferred: Collection[Path] = (),
    must_be_new: Collection[Path] = (),
) -> None:
    """Refuse, before any work, outputs (label, path) that could not be written or would
    destroy an input or each other: OutputError naming the first such. The folder of a
    ``deferred`` output (a reject file, needed only if a row is bad) need not take files
    now; one in ``must_be_new`` may not exist at all (it is never overwritten)."""
    ins = list(inputs)
    seen: list[tuple[str, Path]] = []
    for label, path in outputs:
        real = Path(os.path.realpath(path))  # a symlink's target is what gets written
        folder = real.parent
        if real.is_dir():
            raise OutputError(f"{path}: is a folder; give a file path for {label}")
        if real.exists() and not real.is_file():
            raise OutputError(f"{path}: not a regular file (a device or a pipe); "
                              f"give a file path for {label}")  # fmt: skip
        if path in must_be_new and real.exists():
            raise OutputError(f"{path}: exists; this file is never overwritten: give a new name")
        if not folder.is_dir():
            raise OutputError(f"{path}: folder {folder} does not exist")
        if path not in deferred and not os.access(folder, os.W_OK | os.X_OK):
            raise OutputError(f"{path}: cannot write in folder {folder} (permission denied)")
        for inp in ins:
            if _same_file(path, inp):
                raise OutputError(f"{path}: {label} would overwrite the input {inp}")
        for other_label, other in seen:
            if _same_file(path, other):
                raise OutputError(f"{path}: {label} and {other_label} are the same file")
        seen.append((label, path))


def check_output(path: Path, inputs: Iterable[Path] = (), *, must_be_new: bool = False,
                 label: str = "the output") -> None:  # fmt: skip
    """:func:`check_outputs` of one output."""
    check_outputs([(label, path)], inputs, must_be_new=[path] if must_be_new else ())


def _same_file(a: Path, b: Path) -> bool:
    """Whether ``a`` and ``b`` name one file (links of any kind included)."""
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist (yet): where they would resolve to
        return os.path.realpath(a) == os.path.realpath(b)


# --- writing ----------------------------------------------------------------------------------

# What writing a file can meet (a full disk, a quota, a size limit, a read-only file system,
# a failing device). Other OSErrors raised inside a ``with`` block come from the caller's own
# work (reading an input) and keep their meaning.
_WRITE_ERRORS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS, errno.EIO}


@contextmanager
def replacing(path: Path, *, mode: int | None = PRIVATE, durable: bool = False,
              replace: bool = True) -> Iterator[IO[bytes]]:  # fmt: skip
    """A binary file that becomes ``path`` only once the ``with`` block is done, whole.

    ``mode``: the new file's permissions, by default 0600 (private); None keeps those of the
    file it replaces (else what the umask allows). ``replace``: an existing file is
    replaced; otherwise the name must still be free when the file is complete (nothing is
    ever written over it). ``durable``: data and name are on disk (fsync) before this
    returns. Errors writing the file become an OutputError naming ``path``; on any failure
    the temporary file is removed and ``path`` left as it was."""
    target = Path(os.path.realpath(path))
    if target.exists() and not target.is_file():
        # Never renamed over: a device (/dev/full) or a pipe would become a file.
        raise OutputError(f"{path}: not a regular file (a device or a pipe)")
    tmp: Path | None = None
    theirs: OSError | None = None  # an error of the caller's own work in the block
    try:
        if mode is None:
            mode = target.stat().st_mode & 0o777 if target.is_file() else 0o666 & ~_umask()
        fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".partial",
                                    dir=target.parent)  # created 0600  # fmt: skip
        tmp = Path(name)
        with os.fdopen(fd, "wb") as handle:
            try:
                yield handle
                handle.flush()
            except OSError as exc:
                if exc.errno not in _WRITE_ERRORS:
                    theirs = exc
                raise
            if durable:
                os.fsync(handle.fileno())
        _name(tmp, target, mode, replace, durable)
        tmp = None
    except OSError as exc:
        if exc is theirs:
            raise
        if isinstance(exc, FileExistsError):
            raise OutputError(f"{path}: exists; this file is never overwritten") from None
        raise OutputError(f"{path}: cannot write: {exc.strerror or exc}") from None
    finally:
        if tmp is not None:
            tmp.unlink(missing_ok=True)


def _name(tmp: Path, target: Path, mode: int, replace: bool, durable: bool) -> None:
    """Give the finished temporary file ``tmp`` its mode and its name ``target``."""
    if mode != PRIVATE:
        os.chmod(tmp, mode)
    if replace:
        os.replace(tmp, target)
    else:
        os.link(tmp, target)  # fails if the name was taken meanwhile: never overwrites
        tmp.unlink()
    if durable:
        _fsync_folder(target.parent)


def _umask() -> int:
    mask = os.umask(0o077)  # read by setting it: set it back at once
    os.umask(mask)
    return mask


def _fsync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_replacing(path: Path, write: Callable[[IO[bytes]], T], mode: int | None = None,
                    *, durable: bool = True) -> T:  # fmt: skip
    """``write(file)`` into :func:`replacing` ``path``; what it returns. ``mode``: as there,
    but by default the replaced file's (not private)."""
    with replacing(path, mode=mode, durable=durable) as handle:
        return write(handle)


@contextmanager
def private_text(path: Path, *, durable: bool = False, replace: bool = True) -> Iterator[IO[str]]:
    """A UTF-8 text file only its owner can read (:func:`replacing`, 0600)."""
    with replacing(path, durable=durable, replace=replace) as raw, _text(raw) as handle:
        yield handle


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


def write_csv(path: Path, rows: Iterable[list[str]], *, mode: int | None = PRIVATE,
              durable: bool = False) -> int:  # fmt: skip
    """``rows`` (a header first) as a UTF-8 CSV at ``path`` (:func:`replacing`); how many
    rows, the header included."""
    with replacing(path, mode=mode, durable=durable) as raw, _text(raw) as handle:
        writer = csv.writer(handle)
        n = 0
        for row in rows:
            writer.writerow(row)
            n += 1
        return n


@contextmanager
def _text(raw: IO[bytes]) -> Iterator[IO[str]]:
    """``raw`` as UTF-8 text (surrogate escapes as U+FFFD), flushed, left open."""
    handle = io.TextIOWrapper(raw, encoding="utf-8", errors="leakwatch.fffd", newline="")
    try:
        yield handle
        handle.flush()
    finally:
        handle.detach()  # ``replacing`` closes the file


# --- modes and digests ------------------------------------------------------------------------


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


__all__ = [
    "PRIVATE",
    "CsvWriter",
    "OutputError",
    "check_output",
    "check_outputs",
    "file_sha256",
    "mode_warnings",
    "private_csv",
    "private_text",
    "replacing",
    "write_csv",
    "write_replacing",
]
