"""Search documents as people type; keep the derived index in step with the database.

The index answers "which revisions match"; the database answers "which may this user see".
Every status change queues an IndexJob in the same transaction (services/publishing.py), so
the index can be behind the database only for revisions with a pending job: searches let the
database decide those, and every hit shown is re-checked against its database row.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date

from flask import current_app
from sqlalchemy import Row, bindparam, func, or_, select, update
from sqlalchemy.orm import selectinload

from docctl.domain.numbering import revision_label
from docctl.domain.permissions import Perm, has_perm
from docctl.extensions import db
from docctl.models import Department, Document, IndexJob, Revision, User
from docctl.search import (
    INDEXED_STATUSES,
    IndexDoc,
    IndexLocation,
    ReaderCache,
    SearchBackend,
    SearchBusy,
    SearchUnavailable,
    Segment,
    make_backend,
    parse_query,
)
from docctl.search.analysis import ParsedQuery
from docctl.search.base import check_sort
from docctl.search.snippets import snippet
from docctl.services.context import now
from docctl.services.documents import can_see_without_review, require

log = logging.getLogger(__name__)

CURRENT = frozenset({"effective"})
MAX_PER_PAGE = 100
BATCH = 200
REBUILD_BATCH = 500
LOCK_WAIT = 15.0
# From this size on a rebuild analyses in worker processes (one per CPU, at most two).
PARALLEL_REBUILD = 300
REBUILD_LOCK_WAIT = 600.0
_IN_CHUNK = 500
# Words about a document that are not in its text: type names as agencies write them.
TYPE_WORDS = {
    "manual": "Sổ tay chất lượng manual",
    "policy": "Chính sách chất lượng policy",
    "objective": "Mục tiêu chất lượng objective",
    "procedure": "Quy trình thủ tục procedure",
    "instruction": "Hướng dẫn công việc instruction",
    "form": "Biểu mẫu form",
    "external": "Tài liệu bên ngoài văn bản external",
}


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
    backend = _reader()
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


def apply_pending_jobs(*, rebuild: bool = True) -> int:
    """Apply queued index jobs (one writer at a time); return how many were done.

    A missing, broken or outdated index is rebuilt instead (unless rebuild is False: then the
    jobs stay queued). Raises SearchUnavailable only if that rebuild fails; when another
    process holds the index for long, returns 0 and leaves the jobs queued.
    """
    db.session.commit()   # never wait for the index lock inside an open transaction
    location = _location()
    try:
        with location.writer_lock(timeout=LOCK_WAIT):
            try:
                backend = _open_writer(location.path)
            except SearchUnavailable as exc:
                if not rebuild:
                    log.warning("search index unusable (%s); jobs stay queued", exc.message)
                    return 0
                log.warning("search index unusable (%s); rebuilding it", exc.message)
                return _rebuild(location, None)[1]
            try:
                return _apply(backend)
            finally:
                backend.close()
    except SearchBusy:
        log.warning("search index busy; index jobs stay queued")
        return 0


def catch_up(*, rebuild: bool = True) -> None:
    """Bring the index up to date (at start-up, after a publish); never raises, logs instead.

    After a publish, rebuild=False keeps a missing index from being rebuilt inside a request.
    """
    try:
        done = apply_pending_jobs(rebuild=rebuild)
        if done:
            log.info("search index caught up: %d job(s) applied", done)
    except Exception:   # start-up must go on: search degrades, documents are still served
        db.session.rollback()
        log.exception("search index could not catch up")


def reindex(progress: Callable[[int, int], None] | None = None) -> int:
    """Rebuild the index from the database into a fresh directory and swap it in."""
    db.session.commit()
    location = _location()
    with location.writer_lock(timeout=REBUILD_LOCK_WAIT):
        return _rebuild(location, progress)[0]


def rebuild_by(user: User) -> int:
    """Rebuild the index at an administrator's request, and record who did it."""
    from docctl.services import audit

    require(user, Perm.MANAGE_USERS)
    count = reindex()
    audit.record("search_reindexed", user, object_type="index", details={"revisions": count})
    db.session.commit()
    return count


def index_status() -> dict:
    """Return the index's state for the admin page: backend, availability and counts."""
    pending = select(func.count()).select_from(IndexJob).where(IndexJob.done_at.is_(None))
    status = {
        "backend": _backend_name(), "path": _location().path, "available": False,
        "error": None, "indexed": None,
        "pending": db.session.scalar(pending) or 0,
        "failing": db.session.scalar(pending.where(IndexJob.attempts > 0)) or 0,
        "last_error": db.session.scalar(
            select(IndexJob.last_error).where(IndexJob.done_at.is_(None),
                                              IndexJob.last_error.is_not(None))
            .order_by(IndexJob.id.desc()).limit(1)),
        "effective": db.session.scalar(select(func.count()).select_from(Revision).where(
            Revision.status == "effective")) or 0,
    }
    try:
        status["indexed"] = _reader().doc_count()
        status["available"] = True
    except SearchUnavailable as exc:
        status["error"] = str(exc.message)
    return status


def index_doc(revision: Revision) -> IndexDoc:
    """Return what the index holds of a revision: its document's words and its text."""
    document, department = revision.document, revision.document.department
    return IndexDoc(revision_id=revision.id, document_id=document.id, code=document.code,
                    title=document.title, doc_type=document.doc_type,
                    department=department.code, status=revision.status,
                    effective_date=revision.effective_date, number=revision.number,
                    meta=_meta(document.doc_type, department.code, department.name,
                               document.external_source),
                    text=revision.text or "")


def _meta(doc_type: str, department_code: str, department_name: str,
          external_source: str | None) -> str:
    return " ".join(filter(None, [TYPE_WORDS.get(doc_type, doc_type), department_code,
                                  department_name, external_source]))


# --- reading -------------------------------------------------------------------------------

def _reader() -> SearchBackend:
    holder = current_app.extensions.setdefault("docctl.search", ReaderCache())
    return holder.get(_backend_name(), _location())


def _backend_name() -> str:
    return current_app.config.get("SEARCH_BACKEND", "whoosh")


def _location() -> IndexLocation:
    return IndexLocation(current_app.config["INDEX_DIR"])


def _int(value, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _chunks(ids: Iterable[int]) -> Iterable[list[int]]:
    ordered = sorted(ids)
    for i in range(0, len(ordered), _IN_CHUNK):
        yield ordered[i:i + _IN_CHUNK]


_PENDING = select(IndexJob.revision_id, IndexJob.document_id).where(IndexJob.done_at.is_(None))


def _database_overrides(allowed: frozenset[str]) -> tuple[set[int], set[int]]:
    """Return (include, exclude): revisions with pending jobs, judged by the database."""
    pending = db.session.execute(_PENDING).all()
    if not pending:
        return set(), set()
    revision_ids = {r for r, _d in pending if r is not None}
    document_ids = {d for r, d in pending if r is None}
    rows = []
    for chunk in _chunks(revision_ids):
        rows += db.session.execute(select(Revision.id, Revision.status).where(
            Revision.id.in_(chunk))).all()
    for chunk in _chunks(document_ids):
        rows += db.session.execute(select(Revision.id, Revision.status).where(
            Revision.document_id.in_(chunk))).all()
    include = {rid for rid, status in rows if status in allowed}
    return include, {rid for rid, _status in rows} - include


# Built once: composing a select costs more than running it on a page of ids.
_HITS = (select(Revision.id, Revision.document_id, Revision.status, Revision.author_id,
                Revision.number, Revision.effective_date, Revision.text, Document.code,
                Document.title,
                Document.doc_type, Department.code.label("department"),
                Department.name.label("department_name"))
         .join(Document, Revision.document_id == Document.id)
         .join(Department, Document.department_id == Department.id)
         .where(Revision.id.in_(bindparam("ids", expanding=True))))


def _load_revisions(ids: set[int]) -> dict[int, Row]:
    """Return the database's rows of the hits: plain columns (ORM objects cost ms a page)."""
    # The text comes too: snippets are cut from the database's text, so the index need not
    # store 8 KB a revision, and a snippet always shows what the database holds.
    found: dict[int, Row] = {}
    for chunk in _chunks(ids):
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
                     revision_label=revision_label(revision.number), status=revision.status,
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


# --- writing (always under the location's writer lock) -------------------------------------

def _open_writer(path: str) -> SearchBackend:
    backend = make_backend(_backend_name())
    backend.open(path)
    return backend


def _apply(backend: SearchBackend) -> int:
    """Apply every pending job once; a failing job stays queued with its error."""
    done, last_id = 0, 0
    while True:
        jobs = db.session.execute(select(IndexJob.id, IndexJob.revision_id,
                                         IndexJob.document_id).where(
            IndexJob.done_at.is_(None), IndexJob.id > last_id)
            .order_by(IndexJob.id).limit(BATCH)).all()
        if not jobs:
            return done
        last_id = jobs[-1].id
        try:
            _project(backend, jobs)
            done += _mark_done([job.id for job in jobs])
        except Exception:
            db.session.rollback()
            for job in jobs:   # find the failing job(s); the others still go through
                try:
                    _project(backend, [job])
                    done += _mark_done([job.id])
                except Exception as exc:
                    db.session.rollback()
                    log.exception("index job %s failed", job.id)
                    db.session.execute(update(IndexJob).where(IndexJob.id == job.id).values(
                        attempts=IndexJob.attempts + 1, last_error=repr(exc)[:2000]))
                    db.session.commit()


def _project(backend: SearchBackend, jobs) -> None:
    """Make the index hold each job's revisions as the database has them now."""
    revision_ids = {job.revision_id for job in jobs if job.revision_id is not None}
    document_ids = {job.document_id for job in jobs if job.revision_id is None}
    wanted = []
    if revision_ids:
        wanted.append(Revision.id.in_(sorted(revision_ids)))
    if document_ids:
        wanted.append(Revision.document_id.in_(sorted(document_ids)))
    revisions = db.session.scalars(select(Revision).where(or_(*wanted)).options(
        selectinload(Revision.document).selectinload(Document.department))).all()
    keep = [r for r in revisions if r.status in INDEXED_STATUSES]
    backend.upsert([index_doc(r) for r in keep])
    backend.remove((revision_ids | {r.id for r in revisions}) - {r.id for r in keep})


def _mark_done(job_ids: list[int]) -> int:
    result = db.session.execute(update(IndexJob).where(
        IndexJob.id.in_(job_ids), IndexJob.done_at.is_(None)).values(
        done_at=now(), attempts=IndexJob.attempts + 1))
    db.session.commit()
    return result.rowcount or 0


def _rebuild(location: IndexLocation,
             progress: Callable[[int, int], None] | None) -> tuple[int, int]:
    """Build a fresh index from the database and swap it in; return (revisions, jobs done)."""
    covered = list(db.session.scalars(select(IndexJob.id).where(IndexJob.done_at.is_(None))))
    wanted = Revision.status.in_(sorted(INDEXED_STATUSES))
    total = db.session.scalar(select(func.count()).select_from(Revision).where(wanted)) or 0
    build = location.fresh_build_path()
    backend = make_backend(_backend_name())
    try:
        backend.open(build, create=True)
        workers = min(2, os.cpu_count() or 1) if total >= PARALLEL_REBUILD else 1
        count = backend.load(_batches(wanted, total, progress), workers=workers)
        backend.close()
        location.swap_in(build)
    except BaseException:
        backend.close()
        shutil.rmtree(build, ignore_errors=True)
        raise
    done = sum(_mark_done(chunk) for chunk in _chunks(covered))
    writer = _open_writer(location.path)
    try:
        done += _apply(writer)   # jobs queued while the rebuild ran
    finally:
        writer.close()
    log.info("search index rebuilt: %d revisions", count)
    return count, done


_ROW = (Revision.id, Revision.document_id, Revision.status, Revision.effective_date,
        Revision.number, Revision.text, Document.code, Document.title, Document.doc_type,
        Document.external_source, Department.code, Department.name)


def _batches(wanted, total: int, progress) -> Iterable[list[IndexDoc]]:
    """Read the revisions to index in id order, as plain rows (ORM objects cost too much)."""
    # Ids first, then rows by primary key: paging on "status IN .. AND id > x" makes SQLite
    # rescan the status index for every page.
    ids = list(db.session.scalars(select(Revision.id).where(wanted).order_by(Revision.id)))
    seen = 0
    for i in range(0, len(ids), REBUILD_BATCH):
        rows = db.session.execute(
            select(*_ROW).join(Document, Revision.document_id == Document.id)
            .join(Department, Document.department_id == Department.id)
            .where(Revision.id.in_(ids[i:i + REBUILD_BATCH])).order_by(Revision.id)
        ).all()
        docs = [IndexDoc(revision_id=rid, document_id=did, code=code, title=title,
                         doc_type=doc_type, department=dcode, status=status,
                         effective_date=when, number=number,
                         meta=_meta(doc_type, dcode, dname, source), text=text or "")
                for (rid, did, status, when, number, text, code, title, doc_type, source,
                     dcode, dname) in rows]
        db.session.commit()   # end the read transaction: writers must not wait for a rebuild
        seen += len(docs)
        yield docs
        if progress is not None:
            progress(seen, total)
