"""The office's scheduled jobs that follow letters up: each one calls the typed actions
below office (``notices.followup``, ``crawler.scheduled``) and decides nothing itself.

They are entries of ``office.scheduler.OFFICE_JOBS``; tests and `leakwatch scheduler
--once` call them the same way.
"""

from __future__ import annotations

import logging

from crawler.scheduled import crawl_scheduled_source
from store.runtime import Store

log = logging.getLogger(__name__)


def recheck_notices(store: Store) -> dict[int, str]:
    """Re-crawl the listings of every letter whose deadline has passed, then conclude each
    (case closed as removed, or the next letter drafted). A letter whose re-crawl did not
    finish is left for the next run: a failed crawl proves nothing either way."""
    from notices import followup  # WeasyPrint and all: only when a job runs

    outcomes: dict[int, str] = {}
    for due in followup.due_rechecks(store):
        runs = [
            crawl_scheduled_source(store, source_id, on_schedule=False)
            for source_id in due.source_ids
        ]
        if any(run.status != "finished" for run in runs):
            log.info("re-check of notice %s waits: a crawl did not finish", due.notice_id)
            continue
        outcomes[due.notice_id] = followup.conclude_recheck(store, due.notice_id).value
    return outcomes


def send_digest(store: Store) -> int:
    """The investigators' morning digest (counts only)."""
    from notices import followup

    return followup.daily_digest(store)


def notify_customers(store: Store) -> int:
    """What opted-in customers have not been told yet, one message per household."""
    from notices import followup

    return followup.notify_customers(store)
