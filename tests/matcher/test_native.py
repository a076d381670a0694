"""The compiled normalisers: built by mypyc into the cache folder, used only when built from
these very sources and kept where only this user can write, and giving what the pure
modules give."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from matcher import native
from synth.listing import generate_listing

ROOT = Path(__file__).resolve().parents[2]
PROBE = """
import json, sys
import matcher.address, matcher.persons
from matcher import listing_features, parse_address
rows = json.loads(sys.stdin.read())
print(json.dumps({
    "compiled": matcher.address.__file__.endswith(".so"),
    "addresses": [parse_address(r["address"]).format() for r in rows],
    "features": [repr(listing_features(r)) for r in rows],
}))
"""


def probe(cache: Path, rows: list[dict[str, str]], **env: str) -> dict[str, object]:
    """What a fresh interpreter, with ``cache`` as its cache folder, makes of ``rows``."""
    done = subprocess.run(
        [sys.executable, "-c", PROBE], input=json.dumps(rows), capture_output=True, text=True,
        cwd=ROOT, check=True,
        env={**os.environ, "XDG_CACHE_HOME": str(cache), "LEAKWATCH_NATIVE": "1", **env},
    )  # fmt: skip
    out: dict[str, object] = json.loads(done.stdout)
    return out


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cache = tmp_path_factory.mktemp("cache")
    os.environ["XDG_CACHE_HOME"] = str(cache)
    try:
        native.build()
    finally:
        del os.environ["XDG_CACHE_HOME"]
    return cache


def test_a_build_is_used_and_normalises_as_the_pure_modules_do(
    built: Path, watchlist: list[dict[str, str]]
) -> None:
    rows, _ = generate_listing(watchlist, 400, 61)
    rows += [{"name": "", "address": ""}, {"name": "<b>x</b>" * 50, "address": "\x00〒" * 99}]
    compiled = probe(built, rows)
    pure = probe(built, rows, LEAKWATCH_NATIVE="0")
    assert compiled["compiled"] is True and pure["compiled"] is False
    assert compiled["addresses"] == pure["addresses"]
    assert compiled["features"] == pure["features"]


def test_a_build_for_other_sources_or_open_to_others_is_not_used(
    built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(built))
    monkeypatch.delenv("LEAKWATCH_NATIVE", raising=False)  # CI's pure run sets it
    folder = native.usable()
    assert folder is not None
    monkeypatch.setattr(native, "sources_hash", lambda: "an-edited-source")
    assert native.usable() is None  # what was built is not what is here now
    monkeypatch.undo()
    monkeypatch.setenv("XDG_CACHE_HOME", str(built))
    monkeypatch.delenv("LEAKWATCH_NATIVE", raising=False)
    for so in (
        next((folder / "matcher").glob("address.*.so")),
        next((folder / "support").glob("*__mypyc*.so")),
        folder / "support",
    ):
        so.chmod(0o777)  # anyone could replace the code (a module, the support library)
        try:
            assert native.usable() is None
            assert probe(built, [])["compiled"] is False
        finally:
            so.chmod(0o755)
        assert native.usable() == folder
    monkeypatch.undo()


def test_switched_off_or_never_built_means_the_pure_modules(
    built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(built))
    monkeypatch.setenv("LEAKWATCH_NATIVE", "0")
    assert native.usable() is None
    monkeypatch.delenv("LEAKWATCH_NATIVE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))  # nothing built there
    assert native.usable() is None
    path: list[str] = []
    assert native.enable(path) is False and path == []


def test_a_build_that_cannot_load_leaves_the_pure_modules(
    built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(built))
    monkeypatch.delenv("LEAKWATCH_NATIVE", raising=False)
    folder = native.usable()
    assert folder is not None
    (lib,) = (folder / "support").glob("*__mypyc*.so")
    saved = lib.read_bytes()
    lib.write_bytes(b"not a shared library")
    try:
        got = probe(built, [{"name": "山田 太郎", "address": "東京都千代田区九段南1-2-3"}])
        assert got["compiled"] is False
        assert got["addresses"] == ["東京都千代田区九段南一丁目 2-3"]
    finally:
        lib.write_bytes(saved)


SPAWNED = """
import json, multiprocessing, subprocess, sys


def child(queue):
    try:
        import matcher, matcher.address
        from matcher import listing_features
        queue.put({
            "package": getattr(matcher, "__file__", None),
            "compiled": matcher.address.__file__.endswith(".so"),
            "features": repr(listing_features({"name": "山田 太郎", "phone": "03-1234-5678",
                                               "address": "東京都千代田区九段南1-2-3"})),
        })
    except BaseException as exc:
        queue.put({"error": repr(exc)})
        raise


if __name__ == "__main__":
    import matcher  # as every LeakWatch process does first: the build is enabled here
    got = {}
    for method in ("spawn", "forkserver", "fork"):
        ctx = multiprocessing.get_context(method)
        queue = ctx.Queue()
        proc = ctx.Process(target=child, args=(queue,))
        proc.start()
        got[method] = queue.get(timeout=120)
        proc.join()
    # A fresh interpreter, as the scrapy crawl is, importing the matcher through the store.
    crawl = subprocess.run(
        [sys.executable, "-c", "import crawler.pipeline, matcher.address; "
         "print(matcher.address.__file__.endswith('.so'))"],
        capture_output=True, text=True, check=True)
    got["subprocess"] = {"compiled": crawl.stdout.strip() == "True"}
    print(json.dumps(got))
"""


def test_processes_started_from_a_process_using_a_build_import_the_real_package(
    built: Path, tmp_path: Path
) -> None:
    """A spawned child inherits the parent's sys.path: what the build put there must not
    hide the matcher package (a folder named ``matcher`` without __init__.py would make
    the child's ``import matcher`` an empty namespace package). Run from another folder, so
    that the package is found as an installed one, not in the working directory."""
    script = tmp_path / "spawner.py"
    script.write_text(SPAWNED, encoding="utf-8")
    env = {**os.environ, "XDG_CACHE_HOME": str(built), "LEAKWATCH_NATIVE": "1"}
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          cwd=tmp_path, env=env, timeout=600, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    got = json.loads(done.stdout)
    pure = probe(
        built,
        [{"name": "山田 太郎", "phone": "03-1234-5678", "address": "東京都千代田区九段南1-2-3"}],
        LEAKWATCH_NATIVE="0",
    )
    for method in ("spawn", "forkserver", "fork"):
        assert "error" not in got[method], (method, got[method])
        assert got[method]["package"] == str(ROOT / "matcher" / "__init__.py"), method
        assert got[method]["compiled"] is True, method
        assert [got[method]["features"]] == pure["features"], method
    assert got["subprocess"]["compiled"] is True
