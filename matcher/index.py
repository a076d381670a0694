"""The watchlist index: one numpy column per field, vocabularies, and blocking-key tables.

Built from watchlist rows (the data contract's columns: a CSV or the store's decrypted
persons). Supports incremental ``add`` (new imports) and ``remove`` (erasure requests: the
person's values are wiped at once and dropped from disk at the next ``save``), and is saved
encrypted (see :mod:`matcher.sealing`).
"""

from __future__ import annotations

import gc
import io
import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import date
from itertools import islice
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from matcher.columns import KeyTable, PackedStrings, Vocab
from matcher.features import GUARDIAN, Features, person_features
from matcher.keys import phone_head_key, phone_int, phone_tail_key, str_hash
from matcher.sealing import open_blob, seal_blob

FORMAT = "leakwatch-match-index-v1"

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
KEY_KINDS = (
    "phone", "ph_tail", "ph_head", "postal_fam", "postal_kanji", "block", "kana_year",
    "kanji_year", "email",
)  # fmt: skip
CHUNK = 200_000  # persons per numpy flush while building
YEAR0 = 1850  # years are stored as offsets (16 bits)


# (rid, its hash, household hash, 8 name strings, birth, birth year, gender, relationship,
#  town, city, postal, block, unit, phone int, phone tail key, phone head key, e-mail hash):
# everything that needs no vocabulary is computed here, in the (possibly parallel) workers.
PersonTuple = tuple[str, int, int, str, str, str, str, str, str, str, str, int, int, int, int,
                    str, str, int, int, int, int, int, int, int]


def person_tuple(row: Mapping[str, str]) -> PersonTuple | None:
    """A watchlist row reduced to plain values (cheap to send between processes)."""
    rid = (row.get("record_id") or "").strip()
    if not rid:
        return None
    f = person_features(row)
    p = f.place
    assert p is not None
    hh = (row.get("household_id") or "").strip() or rid
    birth = f.birth_lo if f.birth_lo == f.birth_hi else 0
    digits = f.phone
    phone = phone_int(digits)
    return (rid, str_hash("rid\x1f" + rid), str_hash("hh\x1f" + hh), f.fam, f.giv, f.fam_w,
            f.giv_w, f.fam_k, f.giv_k, f.fam_l, f.giv_l, birth,
            date.fromordinal(birth).year if birth else 0, f.gender, f.relationship, p.town,
            p.city, p.postal, p.block, p.unit, phone,
            phone_tail_key(digits) if phone else 0, phone_head_key(digits) if phone else 0,
            str_hash("email\x1f" + f.email) if f.email else 0)  # fmt: skip


def _batches(rows: Iterable[Mapping[str, str]], size: int) -> Iterator[list[Mapping[str, str]]]:
    it = iter(rows)
    while chunk := list(islice(it, size)):
        yield chunk


def _tuples_of(rows: list[Mapping[str, str]]) -> list[PersonTuple | None]:
    return [person_tuple(r) for r in rows]


# Rows handed to forked workers by inheritance (only the ranges travel): pickling a million
# dicts to the workers cost the parent as much as normalising a fifth of them.
_SHARED: Sequence[Mapping[str, str]] = ()


def _tuples_of_range(span: tuple[int, int]) -> list[PersonTuple | None]:
    return [person_tuple(r) for r in _SHARED[span[0]:span[1]]]


def _person_tuples(
    rows: Iterable[Mapping[str, str]], workers: int
) -> Iterator[PersonTuple | None]:
    """Normalise in ``workers`` processes (0 or 1: here), keeping the input order."""
    if workers <= 1:
        yield from map(person_tuple, rows)
        return
    import multiprocessing as mp

    from matcher.address import parse_address

    global _SHARED
    parse_address("東京都千代田区九段南一丁目2番3号")  # load the gazetteer once, before the fork
    fork = "fork" in mp.get_all_start_methods()
    size = 20_000
    if fork and isinstance(rows, Sequence):
        _SHARED = rows
        try:
            with mp.get_context("fork").Pool(workers) as pool:
                spans = ((i, min(i + size, len(rows))) for i in range(0, len(rows), size))
                for part in pool.imap(_tuples_of_range, spans):
                    yield from part
        finally:
            _SHARED = ()
        return
    with mp.get_context("fork" if fork else "spawn").Pool(workers) as pool:
        for part in pool.imap(_tuples_of, _batches(rows, size)):
            yield from part


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
    ph = f.phone
    if ph and "?" not in ph:
        out["phone"].append(phone_int(ph))
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
        # Millions of small ints in lists make the cyclic GC rescan them over and over.
        was_enabled = gc.isenabled()
        gc.disable()
        try:
            return self._add(_person_tuples(rows, workers), progress)
        finally:
            if was_enabled:
                gc.enable()

    def _add(
        self,
        people: Iterable[PersonTuple | None],
        progress: Callable[[int], None] | None,
    ) -> int:
        base = len(self.alive)
        values: dict[str, list[int]] = {k: [] for k in COLUMNS}
        keys: dict[str, list[int]] = {k: [] for k in KEY_KINDS}
        owners: dict[str, list[int]] = {k: [] for k in KEY_KINDS}
        rids: list[str] = []
        # Python lists are flushed to numpy every CHUNK persons: the build's transient memory
        # stays bounded however large the watchlist.
        col_parts: dict[str, list[npt.NDArray[Any]]] = {k: [] for k in COLUMNS}
        key_parts: dict[str, list[npt.NDArray[np.int64]]] = {k: [] for k in KEY_KINDS}
        own_parts: dict[str, list[npt.NDArray[np.int32]]] = {k: [] for k in KEY_KINDS}
        rid_parts: list[npt.NDArray[np.int64]] = []
        rid_hashes: list[int] = []
        packed = PackedStrings()

        def flush() -> None:
            for name, (dt, _) in COLUMNS.items():
                col_parts[name].append(np.array(values[name], dtype=dt))
                values[name].clear()
            for kind in KEY_KINDS:
                key_parts[kind].append(np.array(keys[kind], dtype=np.int64))
                own_parts[kind].append(np.array(owners[kind], dtype=np.int32))
                keys[kind].clear()
                owners[kind].clear()
            self.remove(rids)  # a re-imported record replaces its old version
            rid_parts.append(np.array(rid_hashes, dtype=np.int64))
            packed.extend(rids)
            rids.clear()
            rid_hashes.clear()

        v = self.vocabs
        # Vocabulary ids by dict.setdefault (one C call a value); the word lists catch up after.
        k_ids, a_ids, l_ids = v["kanji"].ids, v["kana"].ids, v["loose"].ids
        t_ids, c_ids = v["town"].ids, v["city"].ids
        kanji, kana, loose = k_ids.setdefault, a_ids.setdefault, l_ids.setdefault
        town_add, city_add = t_ids.setdefault, c_ids.setdefault
        cols = [values[name] for name in COLUMNS]
        kcols = [(keys[k].append, owners[k].append) for k in KEY_KINDS]
        n = 0
        try:
            for person in people:
                if person is None:
                    continue
                (rid, rid_h, hh, s_fam, s_giv, s_fam_w, s_giv_w, s_fam_k, s_giv_k, s_fam_l,
                 s_giv_l, birth, year, gender, rel, town, city, postal, block, unit, phone, tail,
                 head, email) = person  # fmt: skip
                fam, giv = kanji(s_fam, len(k_ids)), kanji(s_giv, len(k_ids))
                fam_l, giv_l = loose(s_fam_l, len(l_ids)), loose(s_giv_l, len(l_ids))
                rec = (
                    fam, giv, kanji(s_fam_w, len(k_ids)), kanji(s_giv_w, len(k_ids)),
                    kana(s_fam_k, len(a_ids)), kana(s_giv_k, len(a_ids)), fam_l, giv_l, birth,
                    gender, rel, town_add(town, len(t_ids)), city_add(city, len(c_ids)),
                    postal, block, unit, phone, email, hh,
                )  # fmt: skip
                for col, x in zip(cols, rec, strict=True):
                    col.append(x)
                pos = base + n
                # The keys filed for this person, inline (a call per key is a tenth of the
                # build).
                filed = (
                    phone, tail, head,
                    (postal << 24) | fam_l if postal and fam_l else 0,
                    (postal << 24) | fam if postal and fam else 0,
                    block,
                    name_year_key(fam_l, giv_l, year, False) if year else 0,
                    name_year_key(fam, giv, year, True) if year else 0,
                    email,
                )  # fmt: skip
                for (add_key, add_pos), k in zip(kcols, filed, strict=True):
                    if k:
                        add_key(k)
                        add_pos(pos)
                rids.append(rid)
                rid_hashes.append(rid_h)
                n += 1
                if n % CHUNK == 0:
                    flush()
                if progress is not None and n % 10000 == 0:
                    progress(n)
        finally:
            for vocab in v.values():
                vocab.sync()
        if not n:
            return 0
        flush()
        for name in COLUMNS:
            self.cols[name] = np.concatenate([self.cols[name], *col_parts[name]])
        self.alive = np.concatenate([self.alive, np.ones(n, dtype=np.bool_)])
        self.record_ids.extend_packed(packed)
        positions = np.arange(base, base + n, dtype=np.int32)
        self.rid_table = self.rid_table.merge(KeyTable.build(np.concatenate(rid_parts), positions))
        is_g = self.cols["rel"][base:] == GUARDIAN
        self.guardians = self.guardians.merge(
            KeyTable.build(self.cols["hh"][base:][is_g], positions[is_g])
        )
        for kind in KEY_KINDS:
            self.tables[kind] = self.tables[kind].merge(
                KeyTable.build(np.concatenate(key_parts[kind]), np.concatenate(own_parts[kind]))
            )
        self._stats = None
        if progress is not None:
            progress(n)
        return n

    def remove(self, record_ids: Iterable[str]) -> int:
        """Forget persons (erasure): values wiped now, dropped from disk at the next save."""
        hashes = np.array([str_hash("rid\x1f" + r) for r in record_ids], dtype=np.int64)
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
            if meta.get("format") != FORMAT:
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


__all__ = ["COLUMNS", "KEY_KINDS", "WatchlistIndex", "name_year_key", "person_keys"]

