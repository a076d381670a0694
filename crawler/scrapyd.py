"""Crawls handed to Scrapyd nodes (LEAKWATCH_SCRAPYD_URLS): the fan-out past one machine.

:func:`run_on_node` does what :func:`crawler.launch.run_crawl` does, with a Scrapyd node in
place of the local ``scrapy crawl`` subprocess: the crawl row is queued and its start audited
here (``crawler.launch.queue_crawl``); the least busy node that answers (``daemonstatus.json``,
ties taken in turn) gets the project's egg once per version (built by scrapyd-client's
``scrapyd-deploy --build-egg`` from the ``crawler``, ``store`` and ``matcher`` packages;
``listversions.json``, ``addversion.json``), then the crawl (``schedule.json``: spider
``generic``, job ``crawl-<id>-<store>``, the same Scrapy settings the local launcher passes with
``-s``); its state is polled (``status.json``) until it has finished, and the crawl is settled
as the local launcher settles it (``crawler.launch.settle_crawl``), from what the crawl
recorded in the store: its row, its stats and its error.

Secrets never travel: no key, no database URL, no password goes into a request (Scrapyd would
keep them in its queue and show them in ``listjobs.json``, and the crawl's command line would
show them to every user of the node). A node runs with the store's configuration in its own
environment — ``DATABASE_URL``, ``LEAKWATCH_HOME`` (the evidence folder, shared with the
office or its own), ``LEAKWATCH_KEY`` or ``LEAKWATCH_KEY_FILE`` — and with LeakWatch installed
at the scheduler's version (the egg is put after the installed packages on the crawl's path).
A node URL may carry ``user:password@`` for Scrapyd's basic authentication: it is sent as a
header and never printed. A node that cannot be reached or refuses is a plain error
(:class:`NodeError`) and the crawl is recorded failed with the reason.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from crawler.checks import CrawlError
from crawler.launch import STOP_GRACE_S, queue_crawl, settle_crawl
from crawler.summary import CrawlSummary
from store.models import Crawl, CrawlStatus
from store.runtime import Store

log = logging.getLogger(__name__)
PROJECT = "leakwatch"  # scrapy.cfg's [deploy] project
SPIDER = "generic"
POLL_S = 1.0
HTTP_TIMEOUT_S = 60.0  # addversion.json lists the egg's spiders in a subprocess first
UNANSWERED_S = 120.0  # a node silent this long while running a crawl: the crawl is given up
EGG_PACKAGES = ("crawler", "store", "matcher")  # what a crawl imports
ROOT = Path(__file__).resolve().parent.parent
SETUP_PY = """# Written for scrapyd-deploy --build-egg by crawler/scrapyd.py
from setuptools import find_packages, setup

setup(
    name="leakwatch-crawler",
    version="1.0",
    packages=find_packages(include=[{packages}]),
    package_data={{"": ["*.ini", "*.mako", "*.json", "*.tsv", "*.csv", "py.typed"]}},
    entry_points={{"scrapy": ["settings = crawler.settings"]}},
    zip_safe=False,
)
"""


class NodeError(CrawlError):
    """A Scrapyd node could not be reached, or refused a request."""


@dataclass(frozen=True, slots=True)
class NodeCrawl:
    """A crawl run on a node: its id, the node (without credentials), its job, its summary."""

    crawl_id: int
    node: str
    job: str
    summary: CrawlSummary


def job_id(store: Store, crawl_id: int) -> str:
    """The Scrapyd job of crawl ``crawl_id`` of ``store``: named after both (crawl ids repeat
    across stores that may share a node), so a successor can cancel it."""
    where = make_url(store.settings.db_url).render_as_string(hide_password=True)
    return f"crawl-{crawl_id}-{hashlib.sha256(where.encode()).hexdigest()[:8]}"


def run_on_node(
    store: Store,
    source_name: str,
    *,
    actor: str,
    on_queued: Callable[[int], None] | None = None,
    timeout: float | None = None,
    poll_s: float = POLL_S,
) -> NodeCrawl:
    """Crawl one source now on a Scrapyd node of LEAKWATCH_SCRAPYD_URLS (module docstring).

    The crawl row always ends ``done`` or ``failed`` with its audit event, as with
    :func:`crawler.launch.run_crawl`; a node that cannot take the crawl raises NodeError
    once the crawl is recorded failed with the reason.
    """
    crawl_id, settings = queue_crawl(store, source_name, actor)
    if on_queued is not None:
        on_queued(crawl_id)
    settings.update(
        {"LEAKWATCH_SOURCE": source_name, "LEAKWATCH_CRAWL_ID": str(crawl_id),
         "LEAKWATCH_EVIDENCE": "True", "LEAKWATCH_STORE": "True"}
    )  # fmt: skip
    job = job_id(store, crawl_id)
    try:
        node = pick_node(store.settings.scrapyd_nodes)
        version = deploy(node, project_egg(store.settings.home / "scrapyd"))
        _schedule(node, job, version, settings)
    except NodeError as exc:
        settle_crawl(store, crawl_id, actor, f"not handed to a Scrapyd node: {exc}")
        raise
    except BaseException as exc:
        settle_crawl(store, crawl_id, actor, f"not handed to a Scrapyd node: {type(exc).__name__}")
        raise
    log.info("crawl %s handed to %s as job %s", crawl_id, display(node), job)
    cause = _wait(node, job, timeout, poll_s)
    summary = _settle_node_run(store, crawl_id, actor, source_name, cause)
    return NodeCrawl(crawl_id, display(node), job, summary)


# -- nodes ----------------------------------------------------------------------------------

_turn = 0  # ties between equally busy nodes are taken in turn
_turn_lock = threading.Lock()


def pick_node(nodes: list[str]) -> str:
    """The node with the fewest pending and running jobs (``daemonstatus.json``) among those
    that answer; NodeError naming each node's problem when none does."""
    global _turn
    if not nodes:
        raise NodeError("no Scrapyd node is configured (LEAKWATCH_SCRAPYD_URLS)")
    with _turn_lock:
        _turn += 1
        start = _turn % len(nodes)
    loads: list[tuple[int, str]] = []
    problems = []
    for node in nodes[start:] + nodes[:start]:
        try:
            status = _request(node, "daemonstatus.json")
        except NodeError as exc:
            problems.append(str(exc))
            continue
        loads.append((int(status.get("pending", 0)) + int(status.get("running", 0)), node))
    if not loads:
        raise NodeError("no Scrapyd node answers: " + "; ".join(problems))
    return min(loads, key=lambda load: load[0])[1]  # min keeps the first of equals


def deploy(node: str, egg: Egg) -> str:
    """Make sure ``node`` has the egg's version (``addversion.json`` once: asked each time,
    since a node may have been reset); the version."""
    versions = _request(node, "listversions.json", {"project": PROJECT}).get("versions", [])
    if egg.version not in versions:
        fields = {"project": PROJECT, "version": egg.version}
        _request(node, "addversion.json", fields, egg=egg.path.read_bytes())
        log.info("egg %s deployed to %s", egg.version, display(node))
    return egg.version


def _schedule(node: str, job: str, version: str, settings: dict[str, str]) -> None:
    fields: list[tuple[str, str]] = [
        ("project", PROJECT), ("spider", SPIDER), ("_version", version), ("jobid", job),
    ]  # fmt: skip
    fields += [("setting", f"{k}={v}") for k, v in settings.items()]
    _request(node, "schedule.json", fields)


def _wait(node: str, job: str, timeout: float | None, poll_s: float) -> str | None:
    """Poll the job until it has finished; why it was stopped, if it was (timeout, a node
    that went silent or lost the job). Ctrl-C cancels it, waits for it, and re-raises."""
    deadline = None if timeout is None else time.monotonic() + timeout
    silent_since: float | None = None
    try:
        while True:
            try:
                state = job_state(node, job)
                silent_since = None
            except NodeError as exc:
                silent_since = silent_since or time.monotonic()
                if time.monotonic() - silent_since > UNANSWERED_S:
                    return f"the node stopped answering ({exc})"
                state = "running"
            if state == "finished":
                return None
            if state is None:
                return f"{display(node)} no longer knows job {job} (restarted?)"
            if deadline is not None and time.monotonic() > deadline:
                cancel_on_nodes([node], job)
                return f"timed out after {timeout:g} s"
            time.sleep(poll_s)
    except KeyboardInterrupt:
        cancel_on_nodes([node], job)
        raise


def job_state(node: str, job: str) -> str | None:
    """``pending``, ``running``, ``finished``, or None when the node does not know the job."""
    state = _request(node, "status.json", {"project": PROJECT, "job": job}).get("currstate")
    return str(state) if state else None


def cancel_on_nodes(nodes: Iterable[str], job: str, wait_s: float = STOP_GRACE_S + 5) -> None:
    """Stop ``job`` wherever it runs or waits, as Ctrl-C would (``cancel.json`` sends SIGINT:
    the crawl records its interruption), and wait until it has ended (at most ``wait_s``)."""
    for node in nodes:
        try:
            before = _request(node, "cancel.json", {"project": PROJECT, "job": job})
        except NodeError as exc:
            log.warning("could not cancel job %s: %s", job, exc)
            continue
        if before.get("prevstate") != "running":
            continue  # pending (now removed) or unknown there: nothing to wait for
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            try:
                if job_state(node, job) in ("finished", None):
                    break
            except NodeError:
                pass  # a moment's silence: keep asking until the deadline
            time.sleep(0.2)


# -- settling -------------------------------------------------------------------------------


def _settle_node_run(
    store: Store, crawl_id: int, actor: str, source_name: str, cause: str | None
) -> CrawlSummary:
    """After the node's job ended: the crawl's summary, from what it recorded, with the
    error it ended on (none: it finished), recorded as the local launcher records it."""
    with store.sessions() as s:
        crawl = s.get(Crawl, crawl_id)
        status = crawl.status if crawl is not None else CrawlStatus.QUEUED
        stats = dict(crawl.stats or {}) if crawl is not None else {}
        own_error = crawl.error if crawl is not None else None
    summary = summary_from_row(source_name, crawl_id, status, stats, own_error)
    job = job_id(store, crawl_id)
    if status == CrawlStatus.QUEUED:
        error: str | None = (
            "the node's crawl never recorded itself in this store (is the node's DATABASE_URL "
            f"this store's? see the node's log of job {job})"
        )
    elif status == CrawlStatus.RUNNING:
        error = f"the crawl on the node ended without recording its end (see its job {job})"
    else:
        error = summary.error
    if cause:
        error = f"{cause}: {error or 'the crawl was stopped'}"
    settle_crawl(store, crawl_id, actor, error, summary, stopped=cause is not None)
    return summary.model_copy(update={"error": error})


def summary_from_row(
    source: str, crawl_id: int, status: CrawlStatus, stats: dict[str, Any], error: str | None
) -> CrawlSummary:
    """A crawl's summary as its row keeps it (``crawler.pipeline``: counts and reasons)."""
    known = {k: v for k, v in stats.items() if k in CrawlSummary.model_fields}
    failed = status == CrawlStatus.FAILED
    return CrawlSummary.model_validate(
        {**known, "source": source, "crawl_id": crawl_id, "error": error if failed else None}
    )


# -- the egg --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Egg:
    path: Path
    version: str  # named after the digest of what it holds: one deployment per version


_egg_lock = threading.Lock()


def project_egg(cache: Path) -> Egg:
    """The project's egg for Scrapyd, built once per version into ``cache``."""
    version = "r" + _source_digest()[:20]
    path = cache / f"{PROJECT}-{version}.egg"
    with _egg_lock:
        if not path.exists():
            cache.mkdir(parents=True, exist_ok=True, mode=0o700)
            _build_egg(path)
    return Egg(path, version)


def _source_files() -> list[Path]:
    files = [ROOT / "scrapy.cfg"]
    for package in EGG_PACKAGES:
        files += sorted(
            p for p in (ROOT / package).rglob("*")
            if p.is_file() and "__pycache__" not in p.parts and p.suffix not in (".pyc", ".so")
        )  # fmt: skip
    return files


def _source_digest() -> str:
    digest = hashlib.sha256()
    for path in _source_files():
        digest.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def _build_egg(out: Path) -> None:
    """scrapyd-deploy --build-egg in a copy of the project's crawl packages (it writes its
    setup.py and build folders where it runs: never in the working tree)."""
    with tempfile.TemporaryDirectory(prefix="leakwatch-egg-") as tmp:
        work = Path(tmp)
        shutil.copy2(ROOT / "scrapy.cfg", work / "scrapy.cfg")
        for package in EGG_PACKAGES:
            skip = shutil.ignore_patterns("__pycache__", "*.pyc", "*.so")
            shutil.copytree(ROOT / package, work / package, ignore=skip)
        packages = ", ".join(f'"{p}", "{p}.*"' for p in EGG_PACKAGES)
        (work / "setup.py").write_text(SETUP_PY.format(packages=packages))
        env = {k: v for k, v in os.environ.items() if k != "SCRAPY_SETTINGS_MODULE"}
        built = work / "out.egg"
        done = subprocess.run(  # noqa: S603 - our own interpreter and scrapyd-client
            [sys.executable, "-m", "scrapyd_client.deploy", "--build-egg", str(built)],
            cwd=work, env=env, capture_output=True, text=True, check=False,
        )  # fmt: skip
        if done.returncode != 0 or not built.exists():
            raise NodeError(f"the project's egg could not be built: {done.stderr.strip()[-300:]}")
        tmp_out = out.with_suffix(".part")
        shutil.copyfile(built, tmp_out)
        tmp_out.replace(out)


# -- HTTP -----------------------------------------------------------------------------------


def display(node: str) -> str:
    """The node's URL without ``user:password@``: what messages and logs show."""
    parts = urllib.parse.urlsplit(node)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def _request(
    node: str,
    endpoint: str,
    fields: dict[str, str] | list[tuple[str, str]] | None = None,
    *,
    egg: bytes | None = None,
) -> dict[str, Any]:
    """GET (no fields) or POST one Scrapyd endpoint; its JSON answer. NodeError when the
    node cannot be reached, answers with an HTTP error, or says ``"status": "error"``."""
    parts = urllib.parse.urlsplit(node)
    url = f"{display(node).rstrip('/')}/{endpoint}"
    headers = {"Accept": "application/json"}
    if parts.username is not None:
        pair = (
            f"{urllib.parse.unquote(parts.username)}:{urllib.parse.unquote(parts.password or '')}"
        )
        headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
    items = list(fields.items()) if isinstance(fields, dict) else list(fields or [])
    body, method = None, "GET"
    if egg is not None:
        body, headers["Content-Type"] = _multipart(items, egg)
        method = "POST"
    elif items and endpoint in ("schedule.json", "cancel.json", "addversion.json"):
        body, method = urllib.parse.urlencode(items).encode(), "POST"
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    elif items:
        url += "?" + urllib.parse.urlencode(items)
    request = urllib.request.Request(url, body, headers, method=method)  # noqa: S310 - http(s) only
    return _send(request, display(node))


def _send(request: urllib.request.Request, shown: str) -> dict[str, Any]:
    endpoint = request.full_url.rsplit("/", 1)[-1].split("?", 1)[0]
    try:
        with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT_S) as resp:  # noqa: S310 - http(s) nodes we are configured with
            answer = json.loads(resp.read() or b"{}")
    except urllib.error.HTTPError as exc:
        raise NodeError(f"{shown} refused {endpoint}: HTTP {exc.code}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise NodeError(f"{shown} cannot be reached: {reason}") from None
    except ValueError:
        raise NodeError(f"{shown} answered {endpoint} with something that is not JSON") from None
    if not isinstance(answer, dict):
        raise NodeError(f"{shown} answered {endpoint} with something unexpected")
    if answer.get("status") == "error":
        message = str(answer.get("message", "")).strip().splitlines()
        raise NodeError(f"{shown} refused {endpoint}: {(message or ['no reason'])[-1][:300]}")
    return answer


def _multipart(fields: list[tuple[str, str]], egg: bytes) -> tuple[bytes, str]:
    """A multipart/form-data body of ``fields`` and the egg file (addversion.json)."""
    boundary = uuid.uuid4().hex
    out = bytearray()
    for name, value in fields:
        out += f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
        out += value.encode() + b"\r\n"
    out += (
        f'--{boundary}\r\nContent-Disposition: form-data; name="egg"; filename="project.egg"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    out += egg + f"\r\n--{boundary}--\r\n".encode()
    return bytes(out), f"multipart/form-data; boundary={boundary}"
