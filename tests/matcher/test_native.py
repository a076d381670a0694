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
    so = next((folder / "matcher").glob("address.*.so"))
    so.chmod(0o777)  # anyone could replace the code
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
    (lib,) = folder.glob("*__mypyc*.so")
    saved = lib.read_bytes()
    lib.write_bytes(b"not a shared library")
    try:
        got = probe(built, [{"name": "山田 太郎", "address": "東京都千代田区九段南1-2-3"}])
        assert got["compiled"] is False
        assert got["addresses"] == ["東京都千代田区九段南一丁目 2-3"]
    finally:
        lib.write_bytes(saved)
