"""The newcomer's demo, end to end on synthetic data and the local fixture broker web:
import a watchlist, match a broker listing file, crawl broker sites, and show the evidence.
"""

from __future__ import annotations

import csv
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from rich.markup import escape
from sqlalchemy import func, select

from crawler.display import terminal_safe
from crawler.launch import STOP_GRACE_S, CrawlResult, run_crawl
from crawler.sources import add_source, set_start_urls
from matcher import gc_paused
from office.console import cli_actor, console, fail
from office.demo_web import DemoSignIns, prepare_web_demo
from store import audit
from store.masking import mask_value
from store.match_files import match_files
from store.models import (
    CandidateMatch,
    Decision,
    EvidenceCapture,
    Household,
    Listing,
    ListingRow,
    Source,
    WatchlistPerson,
)
from store.runtime import Store
from store.sealed import LISTING_ROW_PII
from store.settings import Settings
from store.watchlist_import import import_watchlist
from synth.broker_web import build_fixture, running
from synth.csvio import write_csv
from synth.listing import LISTING_COLUMNS, TRUTH_COLUMNS, generate_listing
from synth.watchlist import WATCHLIST_COLUMNS

BROKER_SEED = 2014  # the fixture broker web publishes rows derived from this watchlist
SOURCE = "demo-broker"
DEMO_PORT = 8765


def run_demo(settings: Settings, web_url: str = "http://127.0.0.1:8000/") -> None:
    demo_dir = settings.home / "demo"
    demo_dir.mkdir(parents=True, exist_ok=True)
    fixture = build_fixture(BROKER_SEED)
    watchlist = demo_dir / "watchlist.csv"
    write_csv(fixture.watchlist, watchlist, WATCHLIST_COLUMNS)
    console.rule("1. watchlist")
    console.print(f"synthetic watchlist: {watchlist} ({len(fixture.watchlist):,} persons)")

    store = Store.open(settings)
    try:
        _import(store, watchlist, demo_dir)
        console.rule("2. match a broker's file (leakwatch match)")
        _match_file(fixture.watchlist, watchlist, demo_dir)
        console.rule("3. crawl the fixture broker web (leakwatch crawl)")
        with _broker_web() as url:
            crawl = _crawl(store, url)
        with store.sessions() as session:
            chain = audit.verify(session)
        console.rule("4. audit")
        console.print(f"audit chain: {'intact' if chain.ok else 'BROKEN'}, {chain.events} events")
        console.rule("5. the web app")
        _show_sign_ins(prepare_web_demo(store, demo_dir), web_url)
    finally:
        store.close()
    if crawl.summary.error is not None:
        raise fail(f"the demo's crawl {crawl.crawl_id} failed (log {crawl.log_path})")


@contextmanager
def scheduler_beside() -> Iterator[subprocess.Popen[bytes]]:
    """`leakwatch scheduler` as a second process beside the web app, on the same store (this
    process's environment), stopped when the web app stops: in a session of its own, so that
    Ctrl-C reaches the demo alone, which then stops it once with SIGTERM (a second signal
    would make it skip stopping its crawls cleanly)."""
    proc = subprocess.Popen([sys.executable, "-m", "office", "scheduler"], start_new_session=True)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=STOP_GRACE_S + 10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _show_sign_ins(sign_ins: DemoSignIns, url: str) -> None:
    console.print(f"web app: {url}")
    for code, key in sign_ins.customers[:2]:
        console.print(f"  a customer (with findings): registration code {code}, login key {key}"
                      f"  → {url}signin/customer")  # fmt: skip
    for name, password in sorted(sign_ins.users.items()):
        console.print(f"  staff {name}: password {password}  → {url}signin/staff")
    console.print(f"  a cease-use letter waits for approval: sign in as demo-legal-2 → "
                  f"{url}work/notices")  # fmt: skip
    console.print("  (demo passwords: LEAKWATCH_ENV=production refuses to start while a demo "
                  "account is active)")  # fmt: skip


def _import(store: Store, watchlist: Path, demo_dir: Path) -> None:
    codes = _unused(demo_dir / "household-codes.csv")  # a codes file is never overwritten
    result = import_watchlist(
        store.sessions, store.vault, watchlist, actor=cli_actor(), codes_out=codes
    )
    console.print(
        f"imported: {result.inserted:,} new, {result.updated:,} updated, "
        f"{result.unchanged:,} unchanged, {result.rejected:,} rejected "
        f"in {result.seconds:.1f} s ({result.rows_per_second:,.0f} rows/s)"
    )
    with store.sessions() as session:
        people = session.scalar(select(func.count()).select_from(WatchlistPerson))
        households = session.scalar(select(func.count()).select_from(Household))
    console.print(f"store: {people:,} persons in {households:,} households, PII sealed")
    if result.codes_path:
        console.print(f"letter codes for new households: {result.codes_path} (mode 0600)")


def _unused(path: Path) -> Path:
    """``path``, or ``name-2.csv``, ``name-3.csv`` ... the first that does not exist yet."""
    candidate, n = path, 1
    while candidate.exists():
        n += 1
        candidate = path.with_stem(f"{path.stem}-{n}")
    return candidate


def _match_file(rows: list[dict[str, str]], watchlist: Path, demo_dir: Path) -> None:
    listing, truth = generate_listing(rows, 400, seed=7)
    listing_path, truth_path = demo_dir / "listing.csv", demo_dir / "listing-truth.csv"
    write_csv(listing, listing_path, LISTING_COLUMNS)
    write_csv(truth, truth_path, TRUTH_COLUMNS)
    out = demo_dir / "matches.csv"
    with gc_paused():  # as `leakwatch match` does (see there)
        run = match_files(listing_path, out, watchlist=watchlist, explain=True)
    with open(out, encoding="utf-8") as handle:
        lines = list(csv.DictReader(handle))
    decisions = Counter(line["decision"] for line in lines)
    console.print(
        f"{len(listing)} listing rows → {out}: {decisions['match']} match, "
        f"{decisions['review']} review, {decisions['nonmatch']} nonmatch "
        f"({run.seconds['total']:.1f} s)"
    )
    true_pairs = {(t["row_id"], t["record_id"]) for t in truth if t["record_id"]}
    said = {(line["row_id"], line["record_id"]) for line in lines if line["decision"] == "match"}
    hits = len(said & true_pairs)
    console.print(
        f"against the synthetic truth ({truth_path.name}): precision "
        f"{hits / max(1, len(said)):.3f}, recall {hits / max(1, len(true_pairs)):.3f} "
        "(review counted as not matched)"
    )
    example = next(c for c in run.result.candidates if c.decision == "match")
    listed = next(r for r in listing if r["row_id"] == example.row_id)
    console.print(
        f"example: row {example.row_id} ({mask_value(listed['name'])}) → "
        f"record {example.record_id}, score {example.score:.3f}"
    )
    _print_explanation(example.explanation.to_dict())


def _print_explanation(explanation: dict[str, object]) -> None:
    fields = explanation.get("fields", [])
    assert isinstance(fields, list)
    parts = [f"prior {explanation['prior_bits']:+.1f}"]
    parts += [f"{f['field']} {f['level']} {f['weight']:+.1f}" for f in fields]
    console.print("  bits: " + ", ".join(parts) + f" = {explanation['logit_bits']:+.1f}")


@contextmanager
def _broker_web(port: int = DEMO_PORT) -> Iterator[str]:
    """The fixture web on its usual port, or on a free one if that is taken: a re-run
    recognises the same listings and rows either way (listing keys leave out the source's
    host and port, see crawler.spiders.generic.listing_key)."""
    with ExitStack() as stack:
        try:
            url = stack.enter_context(running(BROKER_SEED, port))
        except RuntimeError:
            url = stack.enter_context(running(BROKER_SEED))
            console.print(f"port {port} is taken: the fixture broker web runs on a free port")
        yield url


def _crawl(store: Store, url: str) -> CrawlResult:
    """Crawl the fixture web at ``url`` as the demo's source (pointed there if it moved)."""
    with store.sessions() as session:
        known = session.scalar(select(Source.id).where(Source.name == SOURCE))
    if known is None:
        add_source(store, SOURCE, [url + "/"], actor=cli_actor(), is_local=True)
    else:  # a re-run: the fixture web may be on another port
        set_start_urls(store, SOURCE, [url + "/"], actor=cli_actor())
    console.print(f"fixture broker web on {url}/ (local source {SOURCE!r})")
    result = run_crawl(store, SOURCE, actor=cli_actor(), timeout=300)
    summary = result.summary
    if summary.error is not None:
        console.print(
            f"[yellow]crawl {result.crawl_id} failed: {escape(summary.error)} "
            f"(log {result.log_path})[/]"
        )
        return result
    console.print(
        f"crawl {result.crawl_id}: {summary.pages} pages, "
        f"{summary.rows_new or 0} new rows, {summary.rows_again or 0} seen again; "
        f"matching: {summary.matching.status if summary.matching else '?'}"
    )
    _show_findings(store)
    return result


def _show_findings(store: Store) -> None:
    """The listings, the candidate matches, and the evidence behind the best match."""
    with store.sessions() as session:
        for listing in session.scalars(select(Listing).order_by(Listing.id)):
            console.print(
                f"  listing {listing.id}: {terminal_safe(listing.title or listing.key)} — "
                f"{listing.row_count} rows, {listing.status.value}"
            )
        counts = dict(
            session.execute(
                select(CandidateMatch.decision, func.count())
                .where(CandidateMatch.listing_row_id.is_not(None))
                .group_by(CandidateMatch.decision)
            ).all()
        )
        console.print(
            "candidate matches: " + ", ".join(f"{counts.get(d, 0)} {d.value}" for d in Decision)
        )
        best = session.execute(
            select(CandidateMatch, ListingRow, EvidenceCapture, WatchlistPerson.record_ref)
            .join(ListingRow, ListingRow.id == CandidateMatch.listing_row_id)
            .join(EvidenceCapture, EvidenceCapture.id == ListingRow.evidence_id)
            .join(WatchlistPerson, WatchlistPerson.id == CandidateMatch.person_id)
            .where(CandidateMatch.decision == Decision.MATCH)
            .order_by(CandidateMatch.score.desc(), CandidateMatch.id)
            .limit(1)
        ).first()
        if best is None:
            console.print("[yellow]no match found in the crawl[/]")
            return
        match, row, capture, record_ref = best
        published = store.vault.open_json(row.pii, LISTING_ROW_PII)
        console.print(
            f"evidence for one match: {mask_value(published.get('name', ''))} "
            f"(record {record_ref}), score {match.score:.3f}\n"
            f"  found at {terminal_safe(capture.url, 300)}\n"
            f"  fetched {capture.fetched_at.isoformat(timespec='seconds')}, HTTP "
            f"{capture.http_status}, {capture.size:,} bytes, sha256 {capture.sha256}\n"
            f"  WARC {capture.warc_path} @ {capture.warc_offset}"
        )
        _print_explanation(match.explanation)
