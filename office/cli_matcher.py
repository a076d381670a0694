"""`leakwatch matcher serve|status|sync`: the resident matcher.

``serve`` runs :class:`store.matcher_service.ResidentMatcher` in the foreground until Ctrl-C
or SIGTERM: it listens at once (on a Unix socket in LEAKWATCH_HOME, or ``--port`` on
127.0.0.1), loads the index meanwhile (the store's watchlist, or ``--index`` a saved one),
and from then on applies the watchlist's changes every ``--sync-every`` seconds. Crawls,
report intake and `leakwatch match --server` use it while it runs; ``status`` says whether
it runs, is loading or ready, and what it holds. Beyond one machine, with
``LEAKWATCH_DASK_SCHEDULER`` set, the index is sharded over that cluster's workers.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from office.console import console, fail, open_store
from store.keyring import load_key_ring
from store.match_files import index_keys
from store.matcher_client import NotServing, ResidentClient, connect
from store.matcher_service import (
    FileSource,
    ResidentMatcher,
    Source,
    StoreSource,
    listen,
    publish,
    unpublish,
)
from store.matcher_wire import token_of
from store.settings import load_settings

matcher_app = typer.Typer(no_args_is_help=True, help=(
    "The resident matcher: one process that holds the index for every crawl, report and "
    "`leakwatch match --server`."))  # fmt: skip


@matcher_app.command("serve")
def serve_cmd(
    index: Annotated[
        Path | None,
        typer.Option(
            "--index",
            help="Serve this saved index as it is (no store needed); "
            "by default the store's watchlist, kept up to date.",
        ),
    ] = None,
    port: Annotated[
        int | None,
        typer.Option(
            min=0,
            max=65535,
            help="Listen on 127.0.0.1:PORT (0: any free port) "
            "instead of the Unix socket in LEAKWATCH_HOME.",
        ),
    ] = None,
    socket_path: Annotated[
        Path | None, typer.Option("--socket", help="The Unix socket's path.")
    ] = None,
    sync_every: Annotated[
        float, typer.Option(min=0.2, help="Seconds between looks for watchlist changes.")
    ] = 10.0,
) -> None:
    """Hold the match index in memory and answer match requests until Ctrl-C."""
    settings = load_settings()
    home = settings.home
    home.mkdir(mode=0o700, parents=True, exist_ok=True)

    def tokens() -> list[bytes]:  # read again at each handshake: a rotated key is seen
        ring = load_key_ring(settings.leakwatch_key, settings.key_file)
        return [token_of(k.index_key) for k in ring.keys]

    tokens()  # no key: say so now
    source: Source = FileSource(index, index_keys()) if index is not None \
        else StoreSource(open_store())  # fmt: skip
    scheduler = settings.leakwatch_dask_scheduler.strip()
    if scheduler:
        from store.matcher_dask import DaskSource  # dask is imported only when asked for

        source = DaskSource(source, scheduler)
    _run(ResidentMatcher(source, tokens), home, port, socket_path,
         sync_every if index is None else None)  # fmt: skip


def _run(matcher: ResidentMatcher, home: Path, port: int | None, socket_path: Path | None,
         sync_every: float | None) -> None:  # fmt: skip
    """Listen, load, keep in step, until interrupted; then withdraw the address."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    try:
        server, address = listen(matcher, home, port, socket_path)
    except (OSError, RuntimeError) as exc:
        raise fail(f"cannot listen: {exc}") from None
    publish(home, address)
    stop = threading.Event()
    threading.Thread(target=server.serve_forever, name="matcher-server", daemon=True).start()
    console.print(f"resident matcher on {address} (Ctrl-C stops it); loading the index")
    try:
        matcher.load()
        console.print(f"{matcher.state}: {matcher.status()['persons']:,} persons "
                      f"({matcher.load_seconds:.1f} s)" + (f"; {matcher.error}" if
                                                           matcher.error else ""))  # fmt: skip
        if sync_every is not None:
            threading.Thread(target=matcher.keep_in_step, args=(sync_every, stop),
                             name="matcher-sync", daemon=True).start()  # fmt: skip
        stop.wait()
    finally:
        stop.set()
        unpublish(home, address)
        server.shutdown()
        server.server_close()
        if address.startswith("unix:"):
            Path(address[5:]).unlink(missing_ok=True)
        console.print("resident matcher stopped")


def _client(ready: bool) -> ResidentClient:
    try:
        return connect(load_settings().home, index_keys()[0], ready=ready)
    except NotServing as exc:
        raise fail(str(exc), code=1) from None


@matcher_app.command("status")
def status_cmd() -> None:
    """Whether the resident matcher runs, and what it holds (exit 1 if none answers)."""
    client = _client(ready=False)
    with client:
        s = client.status()
    table = Table(title=f"resident matcher at {client.address}", show_header=False)
    for label, value in (
        ("state", s["state"] + (f" ({s['error']})" if s.get("error") else "")),
        ("serving", s["source"]), ("persons", f"{s['persons']:,}"),
        ("watchlist version", s["version"] or "-"), ("loaded in", f"{s['load_seconds']:.1f} s"),
        ("up", f"{s['up_seconds']:.0f} s"),
        ("requests", f"{s['requests']:,} ({s['rows']:,} rows)"),
        ("changes applied", f"{s['added']:,} added or replaced, {s['removed']:,} removed "
                            f"({s['syncs']:,} looks, {s['reloads']} reloads)"),
        ("clients refused", f"{s['refused']:,}"),
    ):  # fmt: skip
        table.add_row(label, value)
    console.print(table)


@matcher_app.command("sync")
def sync_cmd() -> None:
    """Make the resident matcher apply the watchlist's changes now (say, after an import)."""
    client = _client(ready=True)
    with client:
        s = client.sync()
    console.print(
        f"{s['added']:,} added or replaced, {s['removed']:,} removed; {s['persons']:,} persons"
    )


def register(app: typer.Typer) -> None:
    """Add the `matcher` command group to the `leakwatch` CLI."""
    app.add_typer(matcher_app, name="matcher")
