"""R51: two processes publishing and applying index jobs at once leave the index right."""

import multiprocessing

from docctl.models import IndexJob, Revision
from docctl.search import INDEXED_STATUSES, make_backend
from docctl.services import documents, indexing, reviews
from tests.helpers import docx_bytes, publish
from tests.search._workers import publish_and_apply

CODES = [f"QT-{n:02d}" for n in range(21, 29)]


def test_two_processes_leave_the_index_equal_to_the_database(search_app, users, db,
                                                            backend_name, monkeypatch):
    # Publishing applies its jobs itself: here they stay queued, for the workers to race on.
    monkeypatch.setattr(indexing, "catch_up", lambda **kwargs: None)
    for code in CODES:
        documents.register_document(users["controller"], {
            "type": "procedure", "title": f"Quy trình {code}", "department": "VP",
            "code": code})
        publish(users, code, text=f"bản một của {code}")
        rev = documents.upload_revision(users["controller"], code, filename="x.docx",
                                        data=docx_bytes(f"bản hai của {code}", code),
                                        reason="Sửa đổi", change="reissue")
        reviews.submit(users["controller"], code, rev.number, reviewers=["reviewer"],
                       approver="approver")
        reviews.review(users["reviewer"], code, rev.number, decision="accept")
    db.session.commit()
    assert db.session.query(IndexJob).filter(IndexJob.done_at.is_(None)).count() == len(CODES)
    db.session.rollback()   # outside a request a transaction holds SQLite's write lock: end it
    ctx = multiprocessing.get_context("spawn")
    results = ctx.Queue()
    workers = [ctx.Process(target=publish_and_apply, args=(
        str(search_app.config["DATA_DIR"]), search_app.config["DATABASE_URL"],
        search_app.config["SQLALCHEMY_ENGINE_OPTIONS"], backend_name, CODES[i::2], results))
        for i in range(2)]
    for worker in workers:
        worker.start()
    outcomes = [results.get(timeout=240) for _ in workers]
    for worker in workers:
        worker.join(timeout=30)
    assert [kind for kind, _ in outcomes] == ["ok", "ok"], outcomes

    db.session.expire_all()
    assert db.session.query(IndexJob).filter(IndexJob.done_at.is_(None)).count() == 0
    in_db = {r.id: r.status for r in db.session.query(Revision).filter(
        Revision.status.in_(sorted(INDEXED_STATUSES)))}
    assert sorted(in_db.values()).count("effective") == len(CODES)
    backend = make_backend(backend_name)
    backend.open(search_app.config["INDEX_DIR"])
    try:
        assert backend.revision_ids() == in_db
        assert backend.doc_count() == 2 * len(CODES)
    finally:
        backend.close()
