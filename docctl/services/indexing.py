"""Keep the derived search index in step with the database: jobs, catch-up, rebuilds.

Every status change queues an IndexJob in the same transaction (services/publishing.py); the
scheduler (services/scheduler.py) applies them outside any request, one writer at a time. A
missing, broken or outdated index is rebuilt from the revisions' texts in the database into a
fresh folder and swapped in.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Callable, Iterable

from flask import current_app
from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import selectinload

from docctl import dbengine
from docctl.domain.permissions import Perm
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
    make_backend,
)
from docctl.services.context import now
from docctl.services.documents import require

log = logging.getLogger(__name__)

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


def apply_pending_jobs(*, rebuild: bool = True) -> int:
    """Apply queued index jobs (one writer at a time); return how many were done.

    A missing, broken or outdated index is rebuilt instead (unless rebuild is False: then the
    jobs stay queued). Raises SearchUnavailable only if that rebuild fails; when another
    process holds the index for long, returns 0 and leaves the jobs queued.
    """
    db.session.commit()   # never wait for the index lock inside an open transaction
    where = location()
    try:
        with where.writer_lock(timeout=LOCK_WAIT):
            try:
                backend = _open_writer(where.path)
            except SearchUnavailable as exc:
                if not rebuild:
                    log.warning("search index unusable (%s); jobs stay queued", exc.message)
                    return 0
                log.warning("search index unusable (%s); rebuilding it", exc.message)
                return _rebuild(where, None)[1]
            try:
                return _apply(backend)
            finally:
                backend.close()
    except SearchBusy:
        log.warning("search index busy; index jobs stay queued")
        return 0


def catch_up(*, rebuild: bool = True) -> None:
    """Bring the index up to date (at start-up, in tests); never raises, logs instead.

    rebuild=False leaves a missing or broken index alone (and its jobs queued).
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
    where = location()
    with where.writer_lock(timeout=REBUILD_LOCK_WAIT):
        return _rebuild(where, progress)[0]


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
        "backend": backend_name(), "path": location().path, "available": False,
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
        status["indexed"] = reader().doc_count()
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


def reader() -> SearchBackend:
    """Return this process's reader of the index (reopened when the index is swapped)."""
    holder = current_app.extensions.setdefault("docctl.search", ReaderCache())
    return holder.get(backend_name(), location())


def backend_name() -> str:
    """Return the configured search engine's name."""
    return current_app.config.get("SEARCH_BACKEND", "whoosh")


def location() -> IndexLocation:
    """Return where the index lives."""
    return IndexLocation(current_app.config["INDEX_DIR"])


def chunks(ids: Iterable[int]) -> Iterable[list[int]]:
    """Yield sorted ids in lists short enough for an SQL IN."""
    ordered = sorted(ids)
    for i in range(0, len(ordered), _IN_CHUNK):
        yield ordered[i:i + _IN_CHUNK]



# --- writing (always under the location's writer lock) -------------------------------------

def _open_writer(path: str) -> SearchBackend:
    backend = make_backend(backend_name())
    backend.open(path)
    return backend


def _apply(backend: SearchBackend) -> int:
    """Apply every pending job once; a failing job stays queued with its error."""
    done, last_id = 0, 0
    while True:
        with dbengine.reading():   # the index write below must not hold SQLite's write lock
            jobs = db.session.execute(select(IndexJob.id, IndexJob.revision_id,
                                             IndexJob.document_id).where(
                IndexJob.done_at.is_(None), IndexJob.id > last_id)
                .order_by(IndexJob.id).limit(BATCH)).all()
            db.session.commit()
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
    with dbengine.reading():
        revisions = db.session.scalars(select(Revision).where(or_(*wanted)).options(
            selectinload(Revision.document).selectinload(Document.department))).all()
        keep = [r for r in revisions if r.status in INDEXED_STATUSES]
        docs = [index_doc(r) for r in keep]
        gone = (revision_ids | {r.id for r in revisions}) - {r.id for r in keep}
        db.session.commit()   # read only: end the snapshot before the index write
    backend.upsert(docs)
    backend.remove(gone)


def _mark_done(job_ids: list[int]) -> int:
    result = db.session.execute(update(IndexJob).where(
        IndexJob.id.in_(job_ids), IndexJob.done_at.is_(None)).values(
        done_at=now(), attempts=IndexJob.attempts + 1))
    db.session.commit()
    return result.rowcount or 0


def _rebuild(where: IndexLocation,
             progress: Callable[[int, int], None] | None) -> tuple[int, int]:
    """Build a fresh index from the database and swap it in; return (revisions, jobs done)."""
    covered = list(db.session.scalars(select(IndexJob.id).where(IndexJob.done_at.is_(None))))
    wanted = Revision.status.in_(sorted(INDEXED_STATUSES))
    total = db.session.scalar(select(func.count()).select_from(Revision).where(wanted)) or 0
    build = where.fresh_build_path()
    backend = make_backend(backend_name())
    try:
        backend.open(build, create=True)
        workers = min(2, os.cpu_count() or 1) if total >= PARALLEL_REBUILD else 1
        count = backend.load(_batches(wanted, total, progress), workers=workers)
        backend.close()
        where.swap_in(build)
    except BaseException:
        backend.close()
        shutil.rmtree(build, ignore_errors=True)
        raise
    done = sum(_mark_done(chunk) for chunk in chunks(covered))
    writer = _open_writer(where.path)
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
