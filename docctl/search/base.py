"""The search adapter's own words: documents in, hits out, one protocol for every backend."""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable
from dataclasses import dataclass, fields, replace
from datetime import date
from typing import Protocol

from docctl.errors import DocctlError

# Revisions the index holds; drafts and reviews in progress never reach it.
INDEXED_STATUSES = frozenset({"effective", "superseded", "obsolete"})
# Ranking weights and the engine-lock wait, shared so both backends rank and wait alike.
EXACT_BOOST = 2.0      # a word typed with its diacritics, over the folded match
CODE_BOOST = 20.0      # the document's own code
MENTION_BOOST = 2.0    # a code mentioned in the text
LOCK_WAIT = 30.0
SORTS = ("relevance", "code", "date")
# Bumped when the schema or the analysis changes: an older index is then rebuilt.
# 5: tantivy splits and folds words itself (tantivy_analysis.py). 6: no stored text.
SCHEMA_VERSION = 6
MARKER = "docctl-index.json"

Segment = tuple[str, bool]


class SearchUnavailable(DocctlError):
    """Search is unavailable for now; documents are still served."""

    status = 503
    code = "search_unavailable"


class SearchBusy(SearchUnavailable):
    """Another writer holds the search index for too long."""


@dataclass(frozen=True)
class IndexDoc:
    """One revision as the index sees it (a projection of the database)."""

    revision_id: int
    document_id: int
    code: str
    title: str
    doc_type: str
    department: str
    status: str
    effective_date: date | None = None
    number: int = 1
    meta: str = ""
    text: str = ""

    def to_json(self) -> str:
        """Return the document but its text as JSON, for the index's stored field."""
        # The text stays out: snippets are cut from the database's copy.
        # Not dataclasses.asdict: it deep-copies every field, a third of a rebuild's time.
        data = {name: getattr(self, name) for name in _DOC_FIELDS if name != "text"}
        data["effective_date"] = self.effective_date.isoformat() if self.effective_date else None
        return json.dumps(data, ensure_ascii=False)

    @classmethod
    def from_json(cls, raw: str | bytes) -> IndexDoc:
        """Rebuild a document (without its text) from its stored JSON."""
        data = json.loads(raw)
        when = data.get("effective_date")
        data["effective_date"] = date.fromisoformat(when) if when else None
        return cls(**data)

    def with_status(self, status: str) -> IndexDoc:
        """Return a copy in another status."""
        return replace(self, status=status)


_DOC_FIELDS = tuple(f.name for f in fields(IndexDoc))


@dataclass(frozen=True)
class Filter:
    """Which revisions a search may return; include/exclude override the index's status."""

    statuses: frozenset[str] | None = None
    doc_type: str | None = None
    department: str | None = None
    include_ids: frozenset[int] = frozenset()
    exclude_ids: frozenset[int] = frozenset()

    @classmethod
    def of(cls, statuses: Collection[str] | None = None, doc_type: str | None = None,
           department: str | None = None, include_ids: Collection[int] = (),
           exclude_ids: Collection[int] = ()) -> Filter:
        """Build a filter from loose arguments."""
        return cls(frozenset(statuses) if statuses is not None else None, doc_type or None,
                   department or None, frozenset(include_ids),
                   frozenset(exclude_ids) - frozenset(include_ids))


@dataclass(frozen=True)
class Hit:
    """One matching revision (the search service cuts its snippet from the database's text)."""

    revision_id: int
    document_code: str
    score: float


@dataclass(frozen=True)
class SearchResult:
    """The total of matches and the requested slice of them."""

    total: int
    hits: list[Hit]


class SearchBackend(Protocol):
    """What docctl needs from a full-text engine; implementations hide their library."""

    name: str

    def open(self, path: str, *, create: bool = False) -> None:
        """Open the index at path (create it empty if asked) or raise SearchUnavailable."""

    def upsert(self, docs: list[IndexDoc]) -> None:
        """Add or replace documents, keyed by revision id, in one commit."""

    def load(self, batches: Iterable[list[IndexDoc]], *, workers: int = 1) -> int:
        """Fill a new, empty index in one writer and one commit; return the count."""

    def remove(self, revision_ids: Collection[int]) -> None:
        """Delete revisions from the index (absent ones are ignored)."""

    def search(self, query, *, statuses: Collection[str] | None = None,
               doc_type: str | None = None, department: str | None = None,
               include_ids: Collection[int] = (), exclude_ids: Collection[int] = (),
               sort: str = "relevance", offset: int = 0, limit: int = 20) -> SearchResult:
        """Return matches of a ParsedQuery among the revisions the filter lets through."""

    def suggest(self, query, *, statuses: Collection[str] | None = None,
                include_ids: Collection[int] = (), exclude_ids: Collection[int] = (),
                limit: int = 3) -> list[str]:
        """Return corrected queries built from words of revisions the filter lets through."""

    def revision_ids(self, statuses: Collection[str] | None = None) -> dict[int, str]:
        """Return {revision id: status} of indexed revisions (for checks and tests)."""

    def doc_count(self) -> int:
        """Return how many revisions the index holds."""

    def clear(self) -> None:
        """Delete every document."""

    def close(self) -> None:
        """Release files and locks."""


def check_sort(sort: str) -> str:
    """Return sort if known, else relevance."""
    return sort if sort in SORTS else "relevance"


def code_sort_key(code: str, number: int) -> str:
    """Return a key that orders by code, then newest revision first."""
    return f"{code.upper()}\x00{999_999 - number:06d}"


def date_sort_key(when: date | None, revision_id: int) -> int:
    """Return a key that orders newest effective date first, ties by newest revision."""
    day = when.year * 10_000 + when.month * 100 + when.day if when else 0
    return day * 100_000_000 + revision_id % 100_000_000
