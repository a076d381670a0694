"""The watchlist index: one numpy column per field, vocabularies, and blocking-key tables.

Built from watchlist rows (the data contract's columns: a CSV or the store's decrypted
persons). Supports incremental ``add`` (new imports) and ``remove`` (erasure requests: the
person's values are wiped at once and dropped from disk at the next ``save``), and is saved
encrypted (see :mod:`matcher.sealing`).
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from matcher.columns import KeyTable, PackedStrings, Vocab
from matcher.features import GUARDIAN, Features
from matcher.keys import phone_head_key, phone_int, phone_tail_key, str_hash
from matcher.persons import PERSON_FIELDS, PersonChunk, watchlist_chunk
from matcher.sealing import open_blob, seal_blob
from matcher.workers import can_fork, in_order, spans

# An index holds normalised values and keys: bump the version whenever normalisation or the
# keys change, so that an index saved by an older LeakWatch is rebuilt, not silently missed.
# v2: lots of 丁 towns, a room joined to a one-number lot, ン+vowel in loose readings.
# v3: unspaced names split where kanji gives way to kana.
# v4: fax numbers filed (a listing cell of several numbers may give one).
FORMAT = "leakwatch-match-index-v4"
_FORMAT_FAMILY = "leakwatch-match-index-"


class IndexFormatError(ValueError):
    """The index was saved by another version of LeakWatch: build it again."""

# field -> (dtype, vocabulary or None)
COLUMNS: dict[str, tuple[type[np.generic], str | None]] = {
    "fam": (np.int32, "kanji"), "giv": (np.int32, "kanji"),
    "fam_w": (np.int32, "kanji"), "giv_w": (np.int32, "kanji"),
    "fam_k": (np.int32, "kana"), "giv_k": (np.int32, "kana"),
    "fam_l": (np.int32, "loose"), "giv_l": (np.int32, "loose"),
    "birth": (np.int32, None), "gender": (np.int8, None), "rel": (np.int8, None),
    "town": (np.int32, "town"), "city": (np.int32, "city"), "postal": (np.int32, None),
    "block": (np.int64, None), "unit": (np.int64, None),
    "phone": (np.int64, None), "email": (np.int64, None), "hh": (np.int64, None),
}  # fmt: skip
VOCABS = ("kanji", "kana", "loose", "town", "city")
# "fax": persons by their fax number, looked up only for listing cells of several numbers.
KEY_KINDS = (
    "phone", "ph_tail", "ph_head", "postal_fam", "postal_kanji", "block", "kana_year",
    "kanji_year", "email", "fax",
)  # fmt: skip
YEAR0 = 1850  # years are stored as offsets (16 bits)


def _chunk_of_rows(rows: Sequence[Mapping[str, str]]) -> PersonChunk:
    return watchlist_chunk({k: [r.get(k) or "" for r in rows] for k in PERSON_FIELDS}, len(rows))


CHUNK = 20_000  # persons normalised together (a chunk of the index's columns)
_WINDOW = 8  # chunks per worker read at a time from rows that are not a sequence


def _person_chunks(rows: Iterable[Mapping[str, str]], workers: int) -> Iterator[PersonChunk]:
    """Normalise in ``workers`` processes (0 or 1: here), chunk by chunk, in input order."""
    if workers <= 1 or not can_fork():
        it = iter(rows)
        while chunk := list(islice(it, CHUNK)):
            yield _chunk_of_rows(chunk)
        return
    from matcher.address import load_tables

    load_tables()  # before the fork: the helpers share one copy
    if isinstance(rows, Sequence):
        yield from _forked_chunks(rows, workers)
        return
    it = iter(rows)  # a stream (say, the store's persons): a window of it at a time
    while window := list(islice(it, CHUNK * workers * _WINDOW)):
        yield from _forked_chunks(window, workers)


def _forked_chunks(rows: Sequence[Mapping[str, str]], workers: int) -> Iterator[PersonChunk]:
    # The helpers inherit the rows by forking (only item numbers and chunks travel):
    # pickling a million dicts to them cost as much as normalising a fifth of them.
    ranges = spans(len(rows), CHUNK)

    def chunk(i: int) -> PersonChunk:
        start, stop = ranges[i]
        return _chunk_of_rows(rows[start:stop])

    yield from in_order(chunk, len(ranges), workers, name="chunk of watchlist persons")


def _ids(vocab: Vocab, words: list[str], local: npt.NDArray[np.int32]
         ) -> list[npt.NDArray[np.int32]]:
    """Vocabulary ids of a chunk's word ids (new words added), numbered in the order in which
    the words first appear person by person, column by column (the ids a saved index has
    always had, however the persons were chunked)."""
    ids = vocab.ids
    # setdefault's default is the size before the word is added: the next free id.
    remap = np.fromiter((ids.setdefault(w, len(ids)) for w in words), dtype=np.int32,
                        count=len(words))  # fmt: skip
    vocab.sync()
    if len(ids) >= 1 << 23:  # name_year_key packs ids in 23 bits: as the int64 it overflows
        raise OverflowError(f"vocabulary of {len(ids):,} words")
    out = remap[local] if len(words) else np.zeros(local.shape, dtype=np.int32)
    return [out[:, i] for i in range(local.shape[1])]


def name_year_keys(
    a: npt.NDArray[np.signedinteger[Any]], b: npt.NDArray[np.signedinteger[Any]],
    year: npt.NDArray[np.int64], ordered: bool,
) -> npt.NDArray[np.int64]:
    """:func:`name_year_key` of whole columns (ids of -1 or 0: no key)."""
    a64, b64 = a.astype(np.int64), b.astype(np.int64)
    if not ordered:
        a64, b64 = np.minimum(a64, b64), np.maximum(a64, b64)
    ok = (a64 > 0) & (b64 > 0) & (year >= YEAR0) & (year < YEAR0 + 65535)
    return np.where(ok, (a64 << 40) | (b64 << 16) | (year - YEAR0), 0)


def name_year_key(a: int, b: int, year: int, ordered: bool) -> int:
    """Two name ids and a birth year in one int64 (order-free for readings)."""
    if a <= 0 or b <= 0 or not YEAR0 <= year < YEAR0 + 65535:
        return 0
    if not ordered and a > b:
        a, b = b, a
    return (a << 40) | (b << 16) | (year - YEAR0)


def person_keys(f: Features, ids: Mapping[str, int], years: Iterable[int]) -> dict[str, list[int]]:
    """The blocking keys of one row (person or listing row) given its vocabulary ids."""
    out: dict[str, list[int]] = {k: [] for k in KEY_KINDS}
    for ph in f.phones or (f.phone,):  # a cell of several numbers: each may be the phone...
        if ph and "?" not in ph:
            out["phone"].append(phone_int(ph))
            if f.phones:  # ... or the fax
                out["fax"].append(phone_int(ph))
        elif ph:
            out["ph_tail"].append(phone_tail_key(ph))
            out["ph_head"].append(phone_head_key(ph))
    place = f.place
    if place is not None:
        if place.postal:
            for fl in {ids["fam_l"], ids.get("giv_l_alt", 0)}:
                if fl > 0:
                    out["postal_fam"].append((place.postal << 24) | fl)
            if ids["fam"] > 0:
                out["postal_kanji"].append((place.postal << 24) | ids["fam"])
        if place.block:
            out["block"].append(place.block)
    for y in years:
        out["kana_year"].append(name_year_key(ids["fam_l"], ids["giv_l"], y, False))
        out["kanji_year"].append(name_year_key(ids["fam"], ids["giv"], y, True))
    if f.email:
        out["email"].append(str_hash("email\x1f" + f.email))
    return out


def chunk_keys(columns: Mapping[str, npt.NDArray[Any]], numbers: Mapping[str, npt.NDArray[Any]]
               ) -> dict[str, npt.NDArray[Any]]:
    """Every blocking key of a chunk's persons by kind (0: none), as :func:`person_keys`
    files one person: ``columns`` as :meth:`WatchlistIndex._chunk_columns` gives them."""
    fam, giv, fam_l, giv_l = columns["fam"], columns["giv"], columns["fam_l"], columns["giv_l"]
    post, year = numbers["postal"] << 24, numbers["year"]
    return {
        "phone": numbers["phone"], "ph_tail": numbers["tail"], "ph_head": numbers["head"],
        "postal_fam": np.where((post != 0) & (fam_l != 0), post | fam_l, 0),
        "postal_kanji": np.where((post != 0) & (fam != 0), post | fam, 0),
        "block": numbers["block"],
        "kana_year": name_year_keys(fam_l, giv_l, year, False),
        "kanji_year": name_year_keys(fam, giv, year, True), "email": numbers["email"],
        "fax": numbers["fax"],
    }  # fmt: skip


@dataclass
class _Added:
    """What a run of chunks adds to the index, gathered until every chunk is in: each
    chunk's columns, its keys sorted as it comes (while the next chunks are still being
    read; all of them merged at the end), its record ids and their hashes."""

    columns: dict[str, list[npt.NDArray[Any]]] = field(
        default_factory=lambda: {k: [] for k in COLUMNS})
    key_runs: dict[str, list[KeyTable]] = field(
        default_factory=lambda: {k: [] for k in KEY_KINDS})
    rid_hashes: list[npt.NDArray[np.int64]] = field(default_factory=list)
    record_ids: list[PackedStrings] = field(default_factory=list)
    n: int = 0

    def add(self, chunk: PersonChunk, columns: Mapping[str, npt.NDArray[Any]],
            at: npt.NDArray[np.int32]) -> None:  # fmt: skip
        """``chunk`` (its ``columns``) at the index positions ``at``."""
        for name, (dt, _) in COLUMNS.items():
            self.columns[name].append(np.asarray(columns[name], dtype=dt))
        for kind, keys in chunk_keys(columns, chunk.numbers).items():
            self.key_runs[kind].append(KeyTable.build(np.asarray(keys, np.int64), at))
        self.rid_hashes.append(chunk.numbers["rid_h"])
        self.record_ids.append(PackedStrings.of(chunk.record_ids))
        self.n += len(chunk)


class WatchlistIndex:
    """Compact, searchable watchlist: ``build``, ``add``, ``remove``, ``save``, ``load``."""

    def __init__(self) -> None:
        self.vocabs: dict[str, Vocab] = {v: Vocab() for v in VOCABS}
        self.cols: dict[str, npt.NDArray[Any]] = {
            k: np.zeros(0, dtype=dt) for k, (dt, _) in COLUMNS.items()
        }
        self.alive = np.zeros(0, dtype=np.bool_)
        self.record_ids = PackedStrings()
        self.rid_table = KeyTable()  # stable_hash(record_id) -> position
        self.guardians = KeyTable()  # household hash -> the guardian's position
        self.tables: dict[str, KeyTable] = {k: KeyTable() for k in KEY_KINDS}
        self._stats: dict[str, Any] | None = None

    # --- building -----------------------------------------------------------------------------

    @classmethod
    def build(
        cls,
        rows: Iterable[Mapping[str, str]],
        progress: Callable[[int], None] | None = None,
        workers: int = 0,
    ) -> WatchlistIndex:
        """Build from watchlist rows; ``workers`` > 1 normalises in that many processes."""
        index = cls()
        index.add(rows, progress=progress, workers=workers)
        return index

    def add(
        self,
        rows: Iterable[Mapping[str, str]],
        progress: Callable[[int], None] | None = None,
        workers: int = 0,
    ) -> int:
        """Add (or replace, by record_id) persons; returns how many were added."""
        return self.add_chunks(_person_chunks(rows, workers), progress)

    def add_chunks(
        self,
        chunks: Iterable[PersonChunk],
        progress: Callable[[int], None] | None = None,
    ) -> int:
        """Add persons already normalised by :func:`matcher.watchlist_chunk` (in any
        process), chunk by chunk in order; the same index as ``add`` of their rows."""
        base = len(self.alive)
        added = _Added()
        # Column by column, in numpy: a chunk's distinct words are the only Python step.
        for chunk in chunks:
            if not len(chunk):
                continue
            columns = self._chunk_columns(chunk)
            at = np.arange(base + added.n, base + added.n + len(chunk), dtype=np.int32)
            added.add(chunk, columns, at)
            # The table of record ids is the old one until the end: removing chunk by chunk
            # finds what removing all at once would.
            self._remove_hashes(chunk.numbers["rid_h"])  # a re-import replaces the old one
            if progress is not None:
                progress(added.n)
        if not added.n:
            return 0
        self._append(base, added)
        if progress is not None:
            progress(added.n)
        return added.n

    def _chunk_columns(self, chunk: PersonChunk) -> dict[str, npt.NDArray[Any]]:
        """A chunk's values of every column, its words as ids in this index's vocabularies
        (new words added, numbered as they first appear)."""
        v = self.vocabs
        fam, giv, fam_w, giv_w = _ids(v["kanji"], chunk.words["kanji"], chunk.ids["kanji"])
        fam_k, giv_k = _ids(v["kana"], chunk.words["kana"], chunk.ids["kana"])
        fam_l, giv_l = _ids(v["loose"], chunk.words["loose"], chunk.ids["loose"])
        (town_id,) = _ids(v["town"], chunk.words["town"], chunk.ids["town"])
        (city_id,) = _ids(v["city"], chunk.words["city"], chunk.ids["city"])
        num = chunk.numbers
        return {
            "fam": fam, "giv": giv, "fam_w": fam_w, "giv_w": giv_w, "fam_k": fam_k,
            "giv_k": giv_k, "fam_l": fam_l, "giv_l": giv_l, "birth": num["birth"],
            "gender": num["gender"], "rel": num["rel"], "town": town_id, "city": city_id,
            "postal": num["postal"], "block": num["block"], "unit": num["unit"],
            "phone": num["phone"], "email": num["email"], "hh": num["hh"],
        }  # fmt: skip

    def _append(self, base: int, added: _Added) -> None:
        """The gathered chunks' persons appended at ``base``, their keys merged in."""
        n = added.n
        for name in COLUMNS:
            self.cols[name] = np.concatenate([self.cols[name], *added.columns[name]])
        self.alive = np.concatenate([self.alive, np.ones(n, dtype=np.bool_)])
        self.record_ids.extend_packed(PackedStrings.concat(added.record_ids))
        positions = np.arange(base, base + n, dtype=np.int32)
        self.rid_table = self.rid_table.merge(
            KeyTable.build(np.concatenate(added.rid_hashes), positions)
        )
        is_g = self.cols["rel"][base:] == GUARDIAN
        self.guardians = self.guardians.merge(
            KeyTable.build(self.cols["hh"][base:][is_g], positions[is_g])
        )
        for kind in KEY_KINDS:
            # Zeros (no key) dropped, sorted stably: owners stay in order (KeyTable.build).
            self.tables[kind] = self.tables[kind].merge(KeyTable.of_runs(added.key_runs[kind]))
        self._stats = None

    def remove(self, record_ids: Iterable[str]) -> int:
        """Forget persons (erasure): values wiped now, dropped from disk at the next save."""
        hashes = np.array([str_hash("rid\x1f" + r) for r in record_ids], dtype=np.int64)
        return self._remove_hashes(hashes)

    def _remove_hashes(self, hashes: npt.NDArray[np.int64]) -> int:
        if not len(hashes) or not len(self.rid_table.keys):
            return 0
        lo, hi = self.rid_table.lookup_many(hashes)
        found: list[int] = []
        for a, b in zip(lo.tolist(), hi.tolist(), strict=True):
            found.extend(int(p) for p in self.rid_table.idx[a:b] if self.alive[p])
        if not found:
            return 0
        pos = np.array(found, dtype=np.int64)
        self.alive[pos] = False
        for name in COLUMNS:
            self.cols[name][pos] = 0
        self._stats = None
        return len(found)

    # --- reading ------------------------------------------------------------------------------

    def __len__(self) -> int:
        return int(self.alive.sum())

    @property
    def size(self) -> int:
        """Positions in use (alive or not yet compacted)."""
        return len(self.alive)

    def record_id(self, pos: int) -> str:
        return self.record_ids[pos]

    def record_ids_at(self, positions: npt.NDArray[np.int64]) -> list[str]:
        """The record ids of the persons at ``positions`` (many at once)."""
        return self.record_ids.many(positions)

    def position(self, record_id: str) -> int | None:
        lo, hi = self.rid_table.lookup_many(np.array([str_hash("rid\x1f" + record_id)]))
        for p in self.rid_table.idx[int(lo[0]) : int(hi[0])]:
            if self.alive[p] and self.record_ids[int(p)] == record_id:
                return int(p)
        return None

    def guardian_of(self, hh: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        """Position of each household's guardian, -1 when none is registered."""
        lo, hi = self.guardians.lookup_many(hh)
        out = np.full(len(hh), -1, dtype=np.int64)
        has = hi > lo
        out[has] = self.guardians.idx[lo[has]]
        out[has & ~self.alive[np.maximum(out, 0)]] = -1
        return out

    def stats(self) -> dict[str, Any]:
        """Frequencies for term-frequency adjustment (cached until the next change)."""
        if self._stats is None:
            a = self.alive
            n = max(int(a.sum()), 1)
            s: dict[str, Any] = {"n": n}
            for name in ("fam", "giv", "fam_w", "fam_l", "giv_l", "town", "city"):
                voc = COLUMNS[name][1]
                assert voc is not None
                s[name] = np.bincount(
                    self.cols[name][a], minlength=len(self.vocabs[voc])
                ).astype(np.int32)
            births = self.cols["birth"][a]
            s["births"] = np.sort(births[births > 0])
            # Guardians' given-name readings: how common the name a row gives as its guardian's is
            g = a & (self.cols["rel"] == GUARDIAN)
            s["n_guardians"] = max(int(g.sum()), 1)
            s["g_giv_l"] = np.bincount(
                self.cols["giv_l"][g], minlength=len(self.vocabs["loose"])
            ).astype(np.int32)
            self._stats = s
        return self._stats

    def memory_bytes(self) -> int:
        total = sum(int(c.nbytes) for c in self.cols.values()) + int(self.alive.nbytes)
        total += self.record_ids.nbytes + self.rid_table.nbytes + self.guardians.nbytes
        total += sum(t.nbytes for t in self.tables.values())
        for voc in self.vocabs.values():
            total += sum(49 + 3 * len(w) for w in voc.words) + 100 * len(voc)  # list + dict
        return total

    # --- persistence --------------------------------------------------------------------------

    def compact(self) -> None:
        """Drop removed persons for good (positions change)."""
        dead = ~self.alive
        if not dead.any():
            return
        remap = (np.cumsum(~dead) - 1).astype(np.int32)
        for name in COLUMNS:
            self.cols[name] = self.cols[name][~dead]
        self.record_ids = self.record_ids.take(~dead)
        self.rid_table = self.rid_table.drop(dead, remap)
        self.guardians = self.guardians.drop(dead, remap)
        self.tables = {k: t.drop(dead, remap) for k, t in self.tables.items()}
        self.alive = np.ones(int((~dead).sum()), dtype=np.bool_)
        self._stats = None

    def to_bytes(self) -> bytes:
        self.compact()
        arrays: dict[str, npt.NDArray[Any]] = {f"c_{k}": v for k, v in self.cols.items()}
        for k, t in self.tables.items():
            arrays[f"k_{k}"], arrays[f"i_{k}"] = t.keys, t.idx
        arrays["rid_keys"], arrays["rid_idx"] = self.rid_table.keys, self.rid_table.idx
        arrays["g_keys"], arrays["g_idx"] = self.guardians.keys, self.guardians.idx
        arrays["rid_offsets"] = self.record_ids.offsets
        arrays["rid_data"] = np.frombuffer(self.record_ids.data, dtype=np.uint8)
        meta = {"format": FORMAT, "vocabs": {k: v.words for k, v in self.vocabs.items()}}
        arrays["meta"] = np.frombuffer(json.dumps(meta, ensure_ascii=False).encode(), np.uint8)
        buf = io.BytesIO()
        np.savez(buf, **arrays)  # type: ignore[arg-type]
        return buf.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> WatchlistIndex:
        with np.load(io.BytesIO(data), allow_pickle=False) as z:
            meta = json.loads(bytes(z["meta"]).decode())
            found = str(meta.get("format"))
            if found != FORMAT:
                if found.startswith(_FORMAT_FAMILY):
                    raise IndexFormatError(
                        f"saved by another LeakWatch version ({found}, this one reads "
                        f"{FORMAT}): build it again (--save-index)"
                    )
                raise ValueError(f"not a {FORMAT} file")
            index = cls()
            index.vocabs = {k: Vocab(w) for k, w in meta["vocabs"].items()}
            index.cols = {k: z[f"c_{k}"] for k in COLUMNS}
            index.tables = {k: KeyTable(z[f"k_{k}"], z[f"i_{k}"]) for k in KEY_KINDS}
            index.rid_table = KeyTable(z["rid_keys"], z["rid_idx"])
            index.guardians = KeyTable(z["g_keys"], z["g_idx"])
            index.record_ids = PackedStrings(bytes(z["rid_data"]), z["rid_offsets"])
            index.alive = np.ones(len(index.cols["hh"]), dtype=np.bool_)
        return index

    def save(self, path: str | Path, key: bytes) -> None:
        """Write the index encrypted (AES-256-GCM under ``key``, 32 raw bytes)."""
        Path(path).write_bytes(seal_blob(self.to_bytes(), key))

    @classmethod
    def load(cls, path: str | Path, key: bytes) -> WatchlistIndex:
        """Read an index written by :meth:`save`; a wrong key or altered file raises."""
        return cls.from_bytes(open_blob(Path(path).read_bytes(), key))


__all__ = [
    "COLUMNS", "KEY_KINDS", "IndexFormatError", "WatchlistIndex", "name_year_key",
    "name_year_keys", "person_keys",
]

