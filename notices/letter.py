"""What a letter says: the facts every rendering (HTML, PDF, 内容証明, Word) is made from.

A letter is built from a case by ``notices.facts`` and frozen when it is drafted; approval
covers exactly these facts. They carry no personal data beyond what the recipient itself
published: counts, where and when, digests of the captures, the business's own listing
identifiers, and the evidence grade's reasons. Never a name or address of a watchlist
person, and never which records are seeds.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, datetime


class LetterKind(enum.StrEnum):
    """The letters the office sends, in the order a case may need them."""

    CEASE_USE = "cease_use"  # 通知書: the first request to stop using the data
    REMINDER = "reminder"  # 催告書: the deadline passed and the data is still offered
    FINAL = "final"  # 最終通告書: last notice before legal steps


@dataclass(frozen=True, slots=True)
class Party:
    """A sender or recipient as printed at the head of a letter."""

    name: str
    representative: str = ""  # e.g. 代表取締役 山田 一郎
    department: str = ""
    address: str = ""
    contact: str = ""


@dataclass(frozen=True, slots=True)
class Capture:
    """One page or file as we fetched it: the proof a recipient can check against."""

    url: str
    fetched_at: datetime  # UTC; letters print it in Japan time
    sha256: str


@dataclass(frozen=True, slots=True)
class ListingEvidence:
    """One list the business offered or used, as we found it."""

    identifier: str  # the business's own name or number for the list, as it published it
    url: str
    first_seen: datetime
    last_seen: datetime
    rows: int  # records published in it
    matched: int  # of them, coinciding with records of the leaked copy
    captures: tuple[Capture, ...]


@dataclass(frozen=True, slots=True)
class PriorNotice:
    """An earlier letter of the same case, cited by a reminder or a final notice."""

    reference: str
    sent_on: date
    deadline: date


@dataclass(frozen=True, slots=True)
class Clause:
    """One paragraph of legal basis from the clause library the legal team edits."""

    key: str  # e.g. appi-19
    title: str  # e.g. 個人情報保護法第19条（不適正な利用の禁止）
    text: str


@dataclass(frozen=True, slots=True)
class LetterFacts:
    """Everything a letter states. Rendering adds wording, never facts."""

    kind: LetterKind
    reference: str  # 文書番号, digits and hyphens only (a 内容証明 allows no Latin letters)
    verify_code: str  # printed in the letter; with the reference it opens /verify
    verify_url: str  # the office's page where a recipient confirms the letter
    issued_on: date
    deadline: date
    sender: Party
    recipient: Party
    listings: tuple[ListingEvidence, ...]
    matched_total: int  # published records coinciding with leaked ones, all listings
    grade_reasons: tuple[str, ...]  # the evidence grade's reasons, in Japanese
    clauses: tuple[Clause, ...]
    prior: tuple[PriorNotice, ...] = ()

    def proper_nouns(self) -> tuple[str, ...]:
        """Names that may keep their Latin letters in a 内容証明 (company, product and place
        names: the parties, the listings' identifiers and the sites' addresses, including the
        address of each capture, which a letter cites and may differ from the listing's)."""
        names = [self.sender.name, self.recipient.name, self.verify_url]
        for listing in self.listings:
            names += [listing.identifier, listing.url, *(c.url for c in listing.captures)]
        return tuple(dict.fromkeys(n for n in names if n))
