"""The watchlist index: one numpy column per field, vocabularies, and blocking-key tables.

Built from watchlist rows (the data contract's columns: a CSV or the store's decrypted
persons). Supports incremental ``add`` (new imports, re-imports) and ``remove`` (erasure
requests: the person's values are wiped at once and dropped from disk at the next ``save``),
each giving the index a build of the changed watchlist would give, but for positions; and
is saved encrypted, streamed (see :mod:`matcher.sealing`).

Memory, per person (35 million persons in well under 8 GB, all included): the columns
(90 bytes), each blocking-key table's position (4 bytes per key; the keys are computed from
the columns, see :mod:`matcher.derived`), the record id (packed) and its hash table, the
sorted birth dates of the term frequencies. Vocabularies are packed arrays. Nothing is held
twice: a build concatenates column by column, a load decrypts into the final arrays.
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import IO, Any

import numpy as np
import numpy.typing as npt

from matcher import frequencies
from matcher.columns import DerivedTable, KeyTable, PackedStrings, Vocab
from matcher.derived import DERIVED, YEAR0, derived_keys, name_year_key, name_year_keys
from matcher.features import GUARDIAN, Features
from matcher.keys import phone_head_key, phone_int, phone_tail_key, str_hash
from matcher.persons import PERSON_FIELDS, PersonChunk, watchlist_chunk
from matcher.sealing import (
    MAGIC,
    MAGIC_STREAM,
    IndexKeyError,
    open_blob,
    read_sealed,
    write_sealed,
)
from matcher.workers import can_fork, in_order, spans

# An index holds normalised values and keys: bump the version whenever normalisation or the
# keys change, so that an index saved by an older LeakWatch is rebuilt, not silently missed.
# v2: lots of 丁 towns, a room joined to a one-number lot, ン+vowel in loose readings.
# v3: unspaced names split where kanji gives way to kana.
# v4: fax numbers filed (a listing cell of several numbers may give one).
# v5: the same values and keys, laid out for 35 million persons (key tables of positions,
#     packed vocabularies, term frequencies saved, streamed encryption).
FORMAT = "leakwatch-match-index-v5"
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
# "fax": persons by their fax number, looked up only for listing cells of several numbers;
# the one kind whose keys are not a function of the columns (a KeyTable of its own).
KEY_KINDS = (
    "phone", "ph_tail", "ph_head", "postal_fam", "postal_kanji", "block", "kana_year",
    "kanji_year", "email", "fax",
)  # fmt: skip
DERIVED_KINDS = tuple(k for k in KEY_KINDS if k in DERIVED)
I32 = npt.NDArray[np.int32]
I64 = npt.NDArray[np.int64]
Table = DerivedTable | KeyTable


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


def _ids(
    vocab: Vocab, words: list[str], local: npt.NDArray[np.int32]
) -> list[npt.NDArray[np.int32]]:
    """Vocabulary ids of a chunk's word ids (new words added), numbered in the order in which
    the words first appear person by person, column by column (the ids a saved index has
    always had, however the persons were chunked)."""
    remap = vocab.add_words(words)
    if len(vocab) >= 1 << 23:  # name_year_key packs ids in 23 bits: as the int64 it overflows
        raise OverflowError(f"vocabulary of {len(vocab):,} words")
    out = remap[local] if len(words) else np.zeros(local.shape, dtype=np.int32)
    return [out[:, i] for i in range(local.shape[1])]


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


class _KeyOf:
    """The keys of one derived kind at given positions, read from the index's columns as
    they are when called (appending persons replaces the column arrays)."""

    __slots__ = ("index", "kind", "names")

    def __init__(self, index: WatchlistIndex, kind: str) -> None:
        self.index, self.kind, self.names = index, kind, DERIVED[kind]

    def __call__(self, pos: I64) -> I64:
        cols = self.index.cols
        return derived_keys(self.kind, {n: cols[n][pos] for n in self.names})


@dataclass
class _Added:
    """What a run of chunks adds to the index, gathered until every chunk is in: each
    chunk's columns, fax numbers, record ids and their hashes."""

    base: int
    columns: dict[str, list[npt.NDArray[Any]]] = field(
        default_factory=lambda: {k: [] for k in COLUMNS}
    )
    fax: list[KeyTable] = field(default_factory=list)  # few persons have a fax: kept as found
    rid_hashes: list[I64] = field(default_factory=list)
    record_ids: list[PackedStrings] = field(default_factory=list)
    n: int = 0

    def add(self, chunk: PersonChunk, columns: Mapping[str, npt.NDArray[Any]]) -> None:
        for name, (dt, _) in COLUMNS.items():
            self.columns[name].append(np.asarray(columns[name], dtype=dt))
        at = np.arange(self.base + self.n, self.base + self.n + len(chunk), dtype=np.int32)
        self.fax.append(KeyTable.build(chunk.numbers["fax"], at))
        self.rid_hashes.append(chunk.numbers["rid_h"])
        self.record_ids.append(PackedStrings.of(chunk.record_ids))
        self.n += len(chunk)


class WatchlistIndex:
    """Compact, searchable watchlist: ``build``, ``add``, ``remove``, ``save``, ``load``.

    Read by the matcher through :class:`IndexReader`'s methods only (``postings``,
    ``count``, ``columns_at`` …), which a sharded index answers too."""

    def __init__(self) -> None:
        self.vocabs: dict[str, Vocab] = {v: Vocab() for v in VOCABS}
        self.cols: dict[str, npt.NDArray[Any]] = {
            k: np.zeros(0, dtype=dt) for k, (dt, _) in COLUMNS.items()
        }
        self.alive = np.zeros(0, dtype=np.bool_)
        self.record_ids = PackedStrings()
        self.rid_table = KeyTable()  # stable_hash(record_id) -> position
        self.derived: dict[str, DerivedTable] = {
            k: DerivedTable(_KeyOf(self, k)) for k in DERIVED_KINDS
        }
        self.fax = KeyTable()  # fax number -> position
        self.guardians = DerivedTable(_KeyOf(self, "guardian"))  # household -> its guardian
        self._stats: frequencies.Stats | None = None
        self._alive_n = 0
        self._spare: dict[str, npt.NDArray[Any]] = {}  # columns with room to grow in

    @property
    def tables(self) -> dict[str, Table]:
        """Every blocking-key table by kind."""
        return {k: self.fax if k == "fax" else self.derived[k] for k in KEY_KINDS}

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
        added = _Added(base)
        # Column by column, in numpy: a chunk's distinct words are the only Python step.
        for chunk in chunks:
            if not len(chunk):
                continue
            added.add(chunk, self._chunk_columns(chunk))
            if progress is not None:
                progress(added.n)
        if not added.n:
            return 0
        rid_h = np.concatenate(added.rid_hashes)
        added.rid_hashes.clear()
        # A re-import replaces the record: the persons filed before these chunks go.
        self._remove_records(rid_h, {s for p in added.record_ids for s in p.all()}
                             if len(self.rid_table.keys) else set())  # fmt: skip
        self._append(base, added, rid_h)
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

    def _append(self, base: int, added: _Added, rid_h: I64) -> None:
        """The gathered chunks' persons appended at ``base``, filed under their keys."""
        n = added.n
        positions = np.arange(base, base + n, dtype=np.int32)
        for name in COLUMNS:
            self._grow(name, added.columns[name])
        self.alive = np.concatenate([self.alive, np.ones(n, dtype=np.bool_)])
        self.record_ids = PackedStrings.concat([self.record_ids, *added.record_ids])
        added.record_ids.clear()
        for vocab in self.vocabs.values():
            vocab.freeze()  # words as packed arrays, not a dict of strings
        new = {name: col[base:] for name, col in self.cols.items()}
        for kind in DERIVED_KINDS:
            self.derived[kind] = _filed(self.derived[kind], derived_keys(kind, new), positions)
        is_g = new["rel"] == GUARDIAN
        self.guardians = _filed(self.guardians, new["hh"][is_g], positions[is_g])
        self.fax = self.fax.merge(KeyTable.of_runs(added.fax))
        self.rid_table = self.rid_table.merge(KeyTable.build(rid_h, positions))
        self._alive_n += n
        if self._stats is not None:
            frequencies.add(self._stats, new, self._alive_n, self._sizes())

    def _grow(self, name: str, parts: list[npt.NDArray[Any]]) -> None:
        """Append ``parts`` to column ``name`` (freed as they go in). A first build makes
        the column exactly; later additions leave room for more, so that a resident index
        taking a few persons at a time does not copy 35 million values each time."""
        col = self.cols[name]
        size, more = len(col), sum(len(p) for p in parts)
        if not size:
            self.cols[name] = np.concatenate(parts) if len(parts) != 1 else parts[0]
            parts.clear()
            return
        spare = self._spare.get(name)
        if spare is None or len(spare) < size + more:
            spare = np.empty(size + more + max(size // 64, 1024), dtype=col.dtype)
            spare[:size] = col
            self._spare[name] = spare
        at = size
        for p in parts:
            spare[at : at + len(p)] = p
            at += len(p)
        parts.clear()
        self.cols[name] = spare[: size + more]

    def remove(self, record_ids: Iterable[str]) -> int:
        """Forget persons (erasure): values wiped now, dropped from disk at the next save."""
        wanted = set(record_ids)
        hashes = np.array([str_hash("rid\x1f" + r) for r in wanted], dtype=np.int64)
        return self._remove_records(hashes, wanted)

    def _remove_records(self, hashes: I64, record_ids: set[str]) -> int:
        """Drop the alive persons whose record ids (``record_ids``, hashed in ``hashes``)
        are filed: exactly those ids (another id of the same hash stays)."""
        if not len(hashes) or not len(self.rid_table.keys):
            return 0
        lo, hi = self.rid_table.lookup_many(hashes)
        n = hi - lo
        total = int(n.sum())
        if not total:
            return 0
        at = np.repeat(lo, n) + np.arange(total) - np.repeat(np.cumsum(n) - n, n)
        pos = np.unique(self.rid_table.idx[at].astype(np.int64))
        pos = pos[self.alive[pos]]
        same = [r in record_ids for r in self.record_ids.many(pos)]
        return self._drop(pos[np.array(same, dtype=np.bool_)] if len(pos) else pos)

    def _drop(self, pos: I64) -> int:
        """Unfile the persons at ``pos`` (sorted, alive), stop counting them, wipe them."""
        if not len(pos):
            return 0
        old = {name: col[pos] for name, col in self.cols.items()}  # their keys, then wiped
        for kind in DERIVED_KINDS:
            self.derived[kind] = self.derived[kind].without(derived_keys(kind, old), pos)
        is_g = old["rel"] == GUARDIAN
        self.guardians = self.guardians.without(old["hh"][is_g], pos[is_g])
        self.fax = self.fax.without_positions(pos)
        rid_h = np.array([str_hash("rid\x1f" + r) for r in self.record_ids.many(pos)],
                         dtype=np.int64)  # fmt: skip
        self.rid_table = self.rid_table.without(rid_h, pos)
        self.alive[pos] = False
        self._alive_n -= len(pos)
        if self._stats is not None:
            frequencies.remove(self._stats, old, self._alive_n, self._sizes())
        for col in self.cols.values():
            col[pos] = 0
        return len(pos)

    # --- reading (the matcher's view: IndexReader) ------------------------------------------

    def __len__(self) -> int:
        return self._alive_n

    @property
    def size(self) -> int:
        """Positions in use (alive or not yet compacted)."""
        return len(self.alive)

    def postings(self, kind: str, keys: I64, most: int) -> tuple[I64, I64]:
        """For each key, how many persons it files (0 when more than ``most``: such a key
        says nothing), and their positions, key after key, each key's in position order."""
        lo, hi = self.tables[kind].lookup_many(np.asarray(keys, dtype=np.int64))
        n = hi - lo
        n[n > most] = 0
        total = int(n.sum())
        starts = np.repeat(lo - (np.cumsum(n) - n), n)
        return n, self.tables[kind].idx[starts + np.arange(total)].astype(np.int64)

    def count(self, kind: str, keys: I64) -> I64:
        """How many persons each key files."""
        return self.tables[kind].count(np.asarray(keys, dtype=np.int64))

    def columns_at(self, pos: I64, names: Iterable[str] | None = None
                   ) -> dict[str, npt.NDArray[Any]]:  # fmt: skip
        """The values of the persons at ``pos``, column by column (every column by default)."""
        return {k: self.cols[k][pos] for k in (names if names is not None else COLUMNS)}

    def column(self, name: str, pos: I64) -> npt.NDArray[Any]:
        return self.cols[name][pos]

    def alive_at(self, pos: I64) -> npt.NDArray[np.bool_]:
        return self.alive[pos]

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

    def guardian_of(self, hh: I64) -> I64:
        """Position of each household's guardian, -1 when none is registered."""
        lo, hi = self.guardians.lookup_many(hh)
        out = np.full(len(hh), -1, dtype=np.int64)
        has = hi > lo
        out[has] = self.guardians.idx[lo[has]]
        out[has & ~self.alive[np.maximum(out, 0)]] = -1
        return out

    def stats(self) -> frequencies.Stats:
        """Frequencies for term-frequency adjustment (kept up to date as persons change)."""
        if self._stats is None:
            self._stats = frequencies.compute(self.cols, self.alive, self._sizes())
        return frequencies.resized(self._stats, self._sizes())

    def _sizes(self) -> dict[str, int]:
        return {k: len(v) for k, v in self.vocabs.items()}

    def memory_bytes(self) -> int:
        """The bytes the index's arrays hold (its vocabularies and frequencies included)."""
        arrays = [*self.cols.values(), self.alive, self.fax.keys, self.fax.idx,
                  self.rid_table.keys, self.rid_table.idx, self.guardians.idx,
                  self.guardians.fence, *(a for t in self.derived.values()
                                          for a in (t.idx, t.fence))]  # fmt: skip
        total = sum(int(a.nbytes) for a in arrays) + self.record_ids.nbytes
        total += sum(v.nbytes for v in self.vocabs.values())
        stats = self._stats or {}
        total += sum(int(v.nbytes) for v in stats.values() if isinstance(v, np.ndarray))
        spare = sum(int(s.nbytes) - int(self.cols[k].nbytes) for k, s in self._spare.items())
        return total + spare

    # --- persistence --------------------------------------------------------------------------

    def compact(self) -> None:
        """Drop removed persons for good (positions change)."""
        dead = ~self.alive
        if not dead.any():
            return
        keep = ~dead
        remap = (np.cumsum(keep) - 1).astype(np.int32)
        self.cols = {name: col[keep] for name, col in self.cols.items()}
        self._spare = {}
        self.record_ids = self.record_ids.take(keep)
        # The tables file no removed person: renumbering keeps them sorted.
        self.rid_table = self.rid_table.renumbered(remap)
        self.fax = self.fax.renumbered(remap)
        self.derived = {k: t.renumbered(remap, t.key_of) for k, t in self.derived.items()}
        self.guardians = self.guardians.renumbered(remap, self.guardians.key_of)
        self.alive = np.ones(int(keep.sum()), dtype=np.bool_)

    def arrays(self) -> tuple[dict[str, Any], dict[str, npt.NDArray[Any]]]:
        """(metadata, every array) of the compacted index: what is saved."""
        self.compact()
        stats = self.stats()
        a: dict[str, npt.NDArray[Any]] = {f"c_{k}": v for k, v in self.cols.items()}
        for k, t in (*self.derived.items(), ("guardian", self.guardians)):
            a[f"t_{k}"], a[f"f_{k}"] = t.idx, t.fence
        a["k_fax"], a["i_fax"] = self.fax.keys, self.fax.idx
        a["rid_keys"], a["rid_idx"] = self.rid_table.keys, self.rid_table.idx
        a["rid_offsets"], a["rid_data"] = self.record_ids.offsets, self.record_ids.data
        for name, vocab in self.vocabs.items():
            a.update({f"v_{name}_{part}": arr for part, arr in vocab.arrays().items()})
        a.update({f"s_{name}": stats[name] for name in frequencies.ARRAYS})
        return {"format": FORMAT, "persons": self.size, "guardians": stats["guardians"]}, a

    @classmethod
    def of_arrays(cls, meta: Mapping[str, Any], a: Mapping[str, npt.NDArray[Any]]
                  ) -> WatchlistIndex:  # fmt: skip
        """The index :meth:`arrays` describes (the arrays are used as they are, not copied)."""
        _check_format(meta)
        index = cls()
        index.vocabs = {k: Vocab.of_arrays({p: a[f"v_{k}_{p}"] for p in _VOCAB_PARTS})
                        for k in VOCABS}  # fmt: skip
        index.cols = {k: a[f"c_{k}"] for k in COLUMNS}
        index.derived = {k: DerivedTable(_KeyOf(index, k), a[f"t_{k}"], a[f"f_{k}"])
                         for k in DERIVED_KINDS}  # fmt: skip
        index.guardians = DerivedTable(_KeyOf(index, "guardian"), a["t_guardian"],
                                       a["f_guardian"])  # fmt: skip
        index.fax = KeyTable(a["k_fax"], a["i_fax"])
        index.rid_table = KeyTable(a["rid_keys"], a["rid_idx"])
        index.record_ids = PackedStrings(a["rid_data"], a["rid_offsets"])
        n = len(index.cols["hh"])
        index.alive, index._alive_n = np.ones(n, dtype=np.bool_), n
        g = int(meta["guardians"])
        index._stats = {"n": max(n, 1), "guardians": g, "n_guardians": max(g, 1),
                        **{name: a[f"s_{name}"] for name in frequencies.ARRAYS}}  # fmt: skip
        return index

    def to_bytes(self) -> bytes:
        """The index as one in-memory ``.npz`` (small indexes: tests, transfers)."""
        meta, arrays = self.arrays()
        buf = io.BytesIO()
        arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), np.uint8)
        np.savez(buf, **arrays)  # type: ignore[arg-type]
        return buf.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> WatchlistIndex:
        with np.load(io.BytesIO(data), allow_pickle=False) as z:
            meta = json.loads(bytes(z["meta"]).decode())
            _check_format(meta)
            return cls.of_arrays(meta, {k: z[k] for k in z.files if k != "meta"})

    def write_sealed(self, out: IO[bytes], key: bytes) -> int:
        """The index encrypted under ``key`` into ``out``, streamed; bytes written."""
        meta, arrays = self.arrays()
        return write_sealed(out, key, meta, arrays)

    def save(self, path: str | Path, key: bytes) -> None:
        """Write the index encrypted (AES-256-GCM under ``key``, 32 raw bytes), 0600."""
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as out:
            self.write_sealed(out, key)

    @classmethod
    def load(cls, path: str | Path, key: bytes) -> WatchlistIndex:
        """Read an index written by :meth:`save`; a wrong key or altered file raises."""
        return read_index(path, [key])


_VOCAB_PARTS = ("data", "offsets", "hashes", "hash_ids")


def _filed(table: DerivedTable, keys: I64, positions: I32) -> DerivedTable:
    """``table`` with the persons at ``positions`` (after every person in it) filed."""
    if not len(table.idx):
        return DerivedTable.build(table.key_of, keys, positions)
    return table.inserted(keys, positions)


def _check_format(meta: Mapping[str, Any]) -> None:
    found = str(meta.get("format"))
    if found != FORMAT:
        if found.startswith(_FORMAT_FAMILY):
            raise IndexFormatError(
                f"saved by another LeakWatch version ({found}, this one reads "
                f"{FORMAT}): build it again (--save-index)"
            )
        raise ValueError(f"not a {FORMAT} file")


def read_index(path: str | Path, keys: Sequence[bytes]) -> WatchlistIndex:
    """The index saved at ``path`` under one of ``keys``, decrypted segment by segment into
    its arrays. IndexKeyError: not an index, or no key opens it; IndexFormatError: another
    LeakWatch version saved it."""
    with open(path, "rb") as f:
        magic = f.read(len(MAGIC_STREAM))
        f.seek(0)
        if magic == MAGIC_STREAM:
            meta, arrays = read_sealed(f, keys, check=_check_format)
            return WatchlistIndex.of_arrays(meta, arrays)
        if magic != MAGIC:
            raise IndexKeyError("not a LeakWatch index file")
        blob = f.read()  # the first layout: an older LeakWatch's, refused once opened
    for key in keys:
        try:
            data = open_blob(blob, key)
        except IndexKeyError:
            continue
        return WatchlistIndex.from_bytes(data)
    raise IndexKeyError("the index key is wrong or the file was altered")


__all__ = [
    "COLUMNS",
    "KEY_KINDS",
    "YEAR0",
    "IndexFormatError",
    "WatchlistIndex",
    "name_year_key",
    "name_year_keys",
    "person_keys",
    "read_index",
]
