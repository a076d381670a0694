"""The index sharded over a real Dask cluster (a LocalCluster of two worker processes on
127.0.0.1) matches the 200,000-person benchmark exactly as one process does."""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from matcher import Matcher, WatchlistIndex
from store.matcher_client import NotServing
from synth.listing import generate_listing
from synth.watchlist import generate_watchlist
from tests.store.test_matcher_service import SERVE

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def client() -> Iterator[distributed.Client]:
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=None) as cluster, \
            distributed.Client(cluster) as c:  # fmt: skip
        yield c


@pytest.mark.slow
def test_two_workers_give_the_single_process_results_on_the_200k_benchmark(
    client: distributed.Client,
) -> None:
    from store.matcher_dask import place_shards

    # bench/match.py's benchmark: 200,000 persons of seed 2014, 20,000 listing rows.
    watchlist = list(generate_watchlist(200_000, 2014))
    rows, _ = generate_listing(watchlist, 20_000, 2014 + 7)
    index = WatchlistIndex.build(watchlist, workers=2)
    del watchlist
    want = Matcher(index).match(rows)
    sharded = place_shards(client, index)
    assert sharded.shards == 2
    held = client.run(lambda dask_worker: len(dask_worker.state.actors))
    assert sorted(held.values()) == [1, 1]  # each worker holds one shard
    got = Matcher(sharded).match(rows)
    assert got.pairs == want.pairs and got.as_of == want.as_of
    assert len(got.candidates) == len(want.candidates) > 10_000
    assert [(c.row_id, c.record_id, c.score, c.decision, c.explanation) for c in got.candidates
            ] == [(c.row_id, c.record_id, c.score, c.decision, c.explanation)
                  for c in want.candidates]  # fmt: skip


def test_the_resident_matcher_shards_over_the_cluster_it_is_given(
    client: distributed.Client, env: dict[str, str], tmp_path: Path
) -> None:
    """`leakwatch matcher serve` with LEAKWATCH_DASK_SCHEDULER: the index held by the
    cluster's workers, the same answers as the index itself."""
    from store.match_files import index_keys
    from store.matcher_client import ResidentClient
    from store.matcher_wire import token_of

    people = list(generate_watchlist(3000, 71))
    rows, _ = generate_listing(people, 300, 72)
    index = WatchlistIndex.build(people)
    key = index_keys()[0]
    index.save(tmp_path / "w.idx", key)
    want = Matcher(WatchlistIndex.load(tmp_path / "w.idx", key)).match(rows)
    folder = Path(tempfile.mkdtemp(prefix="lw"))
    sock = folder / "m.sock"
    scheduler = client.scheduler.address  # type: ignore[union-attr]
    with (tmp_path / "serve.log").open("w") as log:  # what it says, if it fails
        proc = subprocess.Popen(
            [*SERVE, "--index", str(tmp_path / "w.idx"), "--socket", str(sock)],
            env={**os.environ, **env, "LEAKWATCH_DASK_SCHEDULER": scheduler},
            stdout=log, stderr=subprocess.STDOUT)  # fmt: skip
    try:
        deadline = time.monotonic() + 90
        while True:
            assert proc.poll() is None and time.monotonic() < deadline
            try:
                with ResidentClient(f"unix:{sock}", token_of(key)) as c:
                    status = c.status()
                if status["state"] == "ready":
                    break
            except NotServing:
                pass
            time.sleep(0.2)
        assert "sharded over the Dask cluster" in status["source"]
        with ResidentClient(f"unix:{sock}", token_of(key)) as c:
            got = c.match(rows)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
        sock.unlink(missing_ok=True)
        folder.rmdir()
    assert [(c.row_id, c.record_id, c.score, c.decision) for c in got.candidates] == [
        (c.row_id, c.record_id, c.score, c.decision) for c in want.candidates
    ]
