"""Search documents as people type.

The index answers "which revisions match"; the database answers "which may this user see".
Every status change queues an IndexJob in the same transaction (services/indexing.py), so
the index can be behind the database only for revisions with a pending job: searches let the
database decide those, and every hit shown is re-checked against its database row.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import Row, bindparam, select

from docctl.domain.permissions import Perm, has_perm
from docctl.extensions import db
from docctl.models import Department, Document, IndexJob, Revision, User
from docctl.search import (
    INDEXED_STATUSES,
    Segment,
    parse_query,
)
from docctl.search.analysis import ParsedQuery
from docctl.search.base import check_sort
from docctl.search.snippets import snippet
from docctl.services import organisation
from docctl.services.context import now
from docctl.services.documents import can_see_without_review, require
from docctl.services.indexing import chunks, reader

log = logging.getLogger(__name__)

CURRENT = frozenset({"effective"})
MAX_PER_PAGE = 100


@dataclass(frozen=True)
class ResultRow:
    """One revision found, as the results page shows it."""

    code: str
    title: str
    type: str
    department: str
    department_name: str
    revision: int
    revision_label: str
    status: str
    effective_date: date | None
    snippet: list[Segment]
    is_current: bool


@dataclass(frozen=True)
class SearchPage:
    """One page of results, with corrections when nothing was found."""

    total: int
    page: int
    per_page: int
    results: list[ResultRow]
    suggestions: list[str]
    query: str
    scope: str = "current"
    sort: str = "relevance"
    pages: int = field(init=False)

    def __post_init__(self):
        object.__setattr__(self, "pages", max(1, -(-self.total // self.per_page)))


def search(user: User, q: str | None, *, doc_type: str | None = None,
           department: str | None = None, scope: str = "current", sort: str = "relevance",
           page: int = 1, per_page: int = 20) -> SearchPage:
    """Return a page of revisions matching q that the user may see (effective unless asked)."""
    require(user, Perm.READ)
    parsed = parse_query(q)
    page, per_page = max(1, _int(page, 1)), min(max(1, _int(per_page, 20)), MAX_PER_PAGE)
    sort = check_sort(sort)
    # Only controllers and auditors may look past the current revisions; others silently not.
    scope = "all" if scope == "all" and has_perm(user.role, Perm.READ_ALL) else "current"
    if parsed.empty:
        return SearchPage(0, page, per_page, [], [], parsed.text, scope, sort)
    allowed = CURRENT if scope == "current" else INDEXED_STATUSES
    include, exclude = _database_overrides(allowed)
    backend = reader()
    result = backend.search(parsed, statuses=allowed, doc_type=doc_type or None,
                            department=department or None, include_ids=include,
                            exclude_ids=exclude, sort=sort, offset=(page - 1) * per_page,
                            limit=per_page)
    revisions = _load_revisions({hit.revision_id for hit in result.hits})
    rows, dropped = [], []
    for hit in result.hits:
        revision = revisions.get(hit.revision_id)
        if _shown(user, revision, allowed, doc_type, department):
            rows.append(_row(revision, parsed))
        else:
            dropped.append(hit.revision_id)
    if dropped:
        _heal([rid for rid in dropped if rid not in include | exclude], revisions)
    total = max(result.total - len(dropped), len(rows))
    suggestions = []
    if total == 0:
        suggestions = backend.suggest(parsed, statuses=allowed, include_ids=include,
                                      exclude_ids=exclude)
    return SearchPage(total, page, per_page, rows, suggestions, parsed.text, scope, sort)


def _int(value, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


_PENDING = select(IndexJob.revision_id, IndexJob.document_id).where(IndexJob.done_at.is_(None))


def _database_overrides(allowed: frozenset[str]) -> tuple[set[int], set[int]]:
    """Return (include, exclude): revisions with pending jobs, judged by the database."""
    pending = db.session.execute(_PENDING).all()
    if not pending:
        return set(), set()
    revision_ids = {r for r, _d in pending if r is not None}
    document_ids = {d for r, d in pending if r is None}
    rows = []
    for chunk in chunks(revision_ids):
        rows += db.session.execute(select(Revision.id, Revision.status).where(
            Revision.id.in_(chunk))).all()
    for chunk in chunks(document_ids):
        rows += db.session.execute(select(Revision.id, Revision.status).where(
            Revision.document_id.in_(chunk))).all()
    include = {rid for rid, status in rows if status in allowed}
    return include, {rid for rid, _status in rows} - include


# Built once: composing a select costs more than running it on a page of ids.
_HITS = (select(Revision.id, Revision.document_id, Revision.status, Revision.author_id,
                Revision.number, Revision.issue, Revision.amendment, Revision.effective_date,
                Revision.text, Document.code,
                Document.title, Document.doc_type, Department.code.label("department"),
                Department.name.label("department_name"))
         .join(Document, Revision.document_id == Document.id)
         .join(Department, Document.department_id == Department.id)
         .where(Revision.id.in_(bindparam("ids", expanding=True))))


def _load_revisions(ids: set[int]) -> dict[int, Row]:
    """Return the database's rows of the hits: plain columns (ORM objects cost ms a page)."""
    # The text comes too: snippets are cut from the database's text, so the index need not
    # store 8 KB a revision, and a snippet always shows what the database holds.
    found: dict[int, Row] = {}
    for chunk in chunks(ids):
        for row in db.session.execute(_HITS, {"ids": chunk}):
            found[row.id] = row
    return found


def _shown(user: User, revision: Row | None, allowed: frozenset[str],
           doc_type: str | None, department: str | None) -> bool:
    """Re-check a hit against the database: the index never decides who sees what."""
    # allowed holds indexed statuses only (effective, superseded, obsolete): none in review.
    if revision is None or revision.status not in allowed or \
            not can_see_without_review(user, revision.status, revision.author_id):
        return False
    if doc_type and revision.doc_type != doc_type:
        return False
    return not department or revision.department == department


def _row(revision: Row, parsed: ParsedQuery) -> ResultRow:
    return ResultRow(code=revision.code, title=revision.title, type=revision.doc_type,
                     department=revision.department,
                     department_name=revision.department_name, revision=revision.number,
                     revision_label=organisation.label(revision.issue, revision.amendment),
                     status=revision.status,
                     effective_date=revision.effective_date,
                     snippet=snippet(revision.text or "", parsed),
                     is_current=revision.status == "effective")


def _heal(dropped: list[int], revisions: dict[int, Row]) -> None:
    """Queue a job for hits the database disagrees with, so the index repairs itself."""
    if not dropped:
        return
    log.warning("search index disagrees with the database on revisions %s", dropped)
    for rid in dropped:
        revision = revisions.get(rid)
        if revision is not None:
            db.session.add(IndexJob(document_id=revision.document_id, revision_id=rid,
                                    action="status", created_at=now()))
    db.session.commit()


