"""Search records with the Vietnamese rules of document search, in their own index and scope.

Filing and disposing queue RecordIndexJob rows in their unit of work; the scheduler applies
them here, outside any request: a filed record's content is unsealed and its words indexed
(never stored); a disposed record is purged and the index's segments rewritten without it.
"""

from __future__ import annotations

import logging
import shutil

from flask import current_app
from sqlalchemy import select, update

from docctl import dbengine
from docctl.domain.permissions import Perm, has_perm
from docctl.extensions import db
from docctl.models import Document, User
from docctl.models_records import Record, RecordIndexJob
from docctl.search.location import IndexLocation
from docctl.search.records_index import RecordsIndex, folded
from docctl.services import record_files, records
from docctl.services.context import now

log = logging.getLogger(__name__)
BATCH = 200
PER_PAGE = records.PER_PAGE


def index_path() -> str:
    """Return the records index folder (beside the documents index)."""
    return current_app.config.get("RECORDS_INDEX_DIR") or \
        current_app.config["INDEX_DIR"].rstrip("/") + "-records"


def _words(record: Record) -> str:
    """Return the folded words a record is found by: its facts, and its content's text."""
    form = db.session.get(Document, record.form_id) if record.form_id else None
    text = ""
    try:
        text = record_files.read(record.filename, records.open_content(record)).text
    except Exception:   # noqa: BLE001 (a record is still found by its facts)
        log.warning("record %s: content not readable for the index", record.slug,
                    exc_info=True)
    return folded(record.slug, record.title, record.reference, record.filename,
                  form.code if form else "", form.title if form else "", text)


def apply_jobs() -> int:
    """Apply queued record index jobs under the index's writer lock; return how many."""
    target = RecordsIndex(index_path())
    done, merge = 0, False
    with IndexLocation(index_path()).writer_lock():
        while True:
            with dbengine.reading():
                jobs = db.session.execute(select(RecordIndexJob.id, RecordIndexJob.record_id,
                                                 RecordIndexJob.action).where(
                    RecordIndexJob.done_at.is_(None)).order_by(RecordIndexJob.id)
                    .limit(BATCH)).all()
                adds = [db.session.get(Record, j.record_id) for j in jobs if j.action == "add"]
                entries = [(r.id, r.keeper_id, r.visibility == "department", _words(r))
                           for r in adds if r is not None and r.status == "filed"]
            db.session.commit()   # end the read: the write below starts its own transaction
            if not jobs:
                break
            target.add(entries)
            purged = [j.record_id for j in jobs if j.action == "purge"]
            if purged:
                target.purge(purged)
                merge = True
            db.session.execute(update(RecordIndexJob).where(
                RecordIndexJob.id.in_([j.id for j in jobs])).values(done_at=now()))
            db.session.commit()
            done += len(jobs)
        if merge:
            target.merge()   # once for all the batches: a disposed record leaves no words
    return done


def reindex() -> int:
    """Rebuild the records index from the records still filed; return how many."""
    with IndexLocation(index_path()).writer_lock():
        shutil.rmtree(index_path(), ignore_errors=True)
        target = RecordsIndex(index_path())
        ids = db.session.scalars(select(Record.id).where(Record.status == "filed")
                                 .order_by(Record.id)).all()
        total = 0
        for start in range(0, len(ids), BATCH):
            rows = db.session.scalars(select(Record).where(
                Record.id.in_(ids[start:start + BATCH]))).all()
            total += target.add((r.id, r.keeper_id, r.visibility == "department", _words(r))
                                for r in rows)
        if not ids:
            target.add([])
    return total


def search(user: User, q: str, *, page: int = 1,
           per_page: int = PER_PAGE) -> tuple[list[Record], int]:
    """Return the records the user may see that match q (words, any diacritics), best first.

    A record's number or reference typed exactly comes first. The index filters by who may
    see (keeper, department-only) so a common word among 10,000 records costs one page.
    """
    page = max(1, page)
    text = q[:200].strip()
    exact = list(db.session.scalars(select(Record).where(
        (Record.slug == text.upper()) | (Record.reference == text),
        Record.status == "filed", records.visible_filter(user)).order_by(Record.id)
        .limit(per_page)))
    own_only = not (has_perm(user.role, Perm.MANAGE_RECORDS) or has_perm(user.role, Perm.AUDIT))
    ranked, total = RecordsIndex(index_path()).search(
        folded(text), page=page, per_page=per_page, keeper=user.department_id,
        only_keeper=own_only)
    ids = [i for i in ranked if i not in {r.id for r in exact}]
    rows = {r.id: r for r in db.session.scalars(select(Record).where(
        Record.id.in_(ids), Record.status == "filed", records.visible_filter(user)))}
    shown = (exact if page == 1 else []) + [rows[i] for i in ids if i in rows]
    return shown[:per_page], max(total, len(exact))
