"""The gazetteer's marshal cache: read back, it is the gazetteer built from the TSV."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest

from matcher.address import parse_address
from matcher.gazetteer import (
    Gazetteer,
    build_gazetteer,
    cache_path,
    gazetteer,
    read_cache,
    write_cache,
)

TSV = resources.files("matcher.data").joinpath("gazetteer.tsv").read_bytes()


@pytest.fixture(scope="module")
def built() -> Gazetteer:
    return build_gazetteer(TSV.decode("utf-8"))


def test_cache_reads_back_the_built_gazetteer(built: Gazetteer, tmp_path: Path) -> None:
    path = tmp_path / "g.marshal"
    write_cache(path, built)
    back = read_cache(path)
    assert back == built  # dataclass equality: every key, town entry and length table

    # A city filed under several keys stays one object, as in the built table.
    def shared(g: Gazetteer) -> int:
        named = {id(c) for c in g.city_by_name.values()}
        return sum(id(c) in named for cs in g.cities_all.values() for c in cs)

    assert shared(back) == shared(built) == sum(len(cs) for cs in built.cities_all.values())


def test_cached_and_built_tables_parse_alike(built: Gazetteer) -> None:
    # The process-wide table (cached or not) is the one built from the TSV.
    assert gazetteer() == built
    a = parse_address("東京都小平市上水本町４丁目７－９")
    assert (a.pref, a.city, a.town, a.block) == ("東京都", "小平市", "上水本町四丁目", "7-9")


def test_a_damaged_or_foreign_cache_is_ignored(built: Gazetteer, tmp_path: Path) -> None:
    path = tmp_path / "g.marshal"
    assert read_cache(path) is None  # missing
    path.write_bytes(b"\x00garbage")
    assert read_cache(path) is None
    write_cache(path, built)
    path.write_bytes(path.read_bytes()[:1000])  # truncated
    assert read_cache(path) is None


def test_an_unwritable_cache_folder_is_skipped(built: Gazetteer, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    write_cache(blocker / "sub" / "g.marshal", built)  # no exception
    assert not (blocker / "sub").exists()


def test_cache_name_follows_the_data_and_the_cache_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    path = cache_path(TSV)
    assert path is not None and path.parent == tmp_path / "leakwatch"
    assert cache_path(TSV + b"\n") != path  # edited data: another cache
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/dir")
    assert cache_path(TSV) is None  # not a usable place
