"""Search through the services: publish, apply jobs, search as staff and as auditor."""

import shutil
import unicodedata
from pathlib import Path

import pytest
from markupsafe import Markup, escape

from docctl.models import IndexJob, Revision
from docctl.search import SearchUnavailable
from docctl.services import documents, indexing, publishing
from docctl.services import search as search_service
from tests.helpers import PASSWORD, publish

OLD_WORD = "mậtmãcũ"


def codes(page) -> list[str]:
    return [row.code for row in page.results]


def page_text(page) -> str:
    """Return everything a results page would show, as text."""
    parts = [str(page.total), " ".join(page.suggestions)]
    for row in page.results:
        parts += [row.code, row.title, "".join(text for text, _ in row.snippet)]
    return " ".join(parts)


def test_staff_never_meet_a_superseded_revision_auditors_may(library, users, db):
    library("QT-05", "Quy trình bảo mật", f"Quy định {OLD_WORD} về bảo mật thông tin")
    library("QT-05", "Quy trình bảo mật", "Quy định mới về bảo mật thông tin")
    staff, auditor = users["staff"], users["auditor"]
    for q in (OLD_WORD, "matmacu", "matmacux", f'"{OLD_WORD} về"'):
        page = search_service.search(staff, q)
        assert page.total == 0 and page.results == []
        assert "matmacu" not in page_text(page) and OLD_WORD not in page_text(page)
        assert search_service.search(staff, q, scope="all").total == 0   # not theirs to ask
    found = search_service.search(auditor, OLD_WORD, scope="all")
    assert found.total == 1 and found.scope == "all"
    row = found.results[0]
    assert (row.code, row.revision, row.status, row.is_current) == ("QT-05", 1, "superseded",
                                                                    False)
    assert (OLD_WORD, True) in [(t.lower(), m) for t, m in row.snippet]
    assert search_service.search(auditor, "matmacux", scope="all").suggestions == ["matmacu"]
    assert search_service.search(auditor, OLD_WORD).total == 0   # current by default
    current = search_service.search(staff, "bao mat thong tin")
    assert (current.total, codes(current), current.results[0].revision) == (1, ["QT-05"], 2)


def test_a_superseded_revision_is_hidden_even_before_its_job_is_applied(library, users, db):
    library("QT-06", "Quy trình lưu trữ", f"Lưu trữ {OLD_WORD}")
    library("QT-06", "Quy trình lưu trữ", "Lưu trữ mới", apply=False)
    assert db.session.query(IndexJob).filter(IndexJob.done_at.is_(None)).count() == 2
    staff = users["staff"]
    assert search_service.search(staff, OLD_WORD).total == 0
    assert search_service.search(staff, "matmacux").suggestions == []
    assert codes(search_service.search(users["auditor"], OLD_WORD, scope="all")) == ["QT-06"]
    # The new revision is not indexed yet: it will be found once its job is applied.
    assert search_service.search(staff, "luu tru moi").total == 0
    assert indexing.apply_pending_jobs() == 2
    assert codes(search_service.search(staff, "luu tru moi")) == ["QT-06"]


def test_a_hit_the_database_disagrees_with_is_not_shown_nor_counted(library, users, db):
    library("QT-07", "Quy trình tiếp dân", "Tiếp công dân")
    revision = db.session.query(Revision).filter_by(status="effective").one()
    # Simulate an index that missed a change (no job queued): the re-check still holds.
    revision.status = "superseded"
    db.session.commit()
    page = search_service.search(users["staff"], "tiep cong dan")
    assert (page.total, page.results) == (0, [])
    healing = db.session.query(IndexJob).filter(IndexJob.done_at.is_(None)).one()
    assert healing.revision_id == revision.id
    indexing.apply_pending_jobs()
    assert search_service.search(users["auditor"], "tiep cong dan", scope="all").total == 1


def test_markup_in_a_document_is_text(library, users):
    library("QT-08", "Quy trình <b>đậm</b>", "Mã độc <script>alert('x')</script> ở đây")
    page = search_service.search(users["staff"], "alert")
    row = page.results[0]
    assert row.title == "Quy trình <b>đậm</b>"
    assert ("alert", True) in row.snippet
    shown = "".join(str(escape(text)) for text, _ in row.snippet)
    assert "<script>" not in shown and "&lt;script&gt;" in shown
    assert not any(isinstance(text, Markup) for text, _ in row.snippet)


def test_nfd_and_nfc_queries_find_the_same(library, users):
    library("QT-09", "Quy trình kiểm soát hồ sơ", "Đơn vị lưu hồ sơ")
    staff = users["staff"]
    for text in ("kiểm soát hồ sơ", "Đơn vị lưu"):
        nfd = unicodedata.normalize("NFD", text)
        assert codes(search_service.search(staff, nfd)) == \
            codes(search_service.search(staff, text)) == ["QT-09"]
        assert search_service.search(staff, nfd).query == text


def test_exact_diacritics_rank_first(library, users):
    library("HD-01", "Hướng dẫn thiết bị", "Công tác bảo trì thiết bị", doc_type="instruction")
    library("HD-02", "Hướng dẫn thiết bị", "Công tác bão trì thiết bị", doc_type="instruction")
    staff = users["staff"]
    assert codes(search_service.search(staff, "bảo trì")) == ["HD-01", "HD-02"]
    assert codes(search_service.search(staff, "bão trì")) == ["HD-02", "HD-01"]
    assert set(codes(search_service.search(staff, "bao tri"))) == {"HD-01", "HD-02"}


@pytest.mark.parametrize("spelling", ["BM-07-02", "BM.07.02", "bm 07 02", "bm0702"])
def test_a_form_is_found_first_by_its_code_in_any_spelling(library, users, spelling):
    library("QT-07", "Quy trình văn thư", "Điền biểu mẫu BM-07-02 và BM-07-02 khi tiếp nhận")
    library("BM-07-02", "Phiếu tiếp nhận", "Họ tên người nộp", doc_type="form")
    library("BM-07-20", "Sổ theo dõi", "Số thứ tự", doc_type="form")
    page = search_service.search(users["staff"], spelling)
    assert codes(page)[0] == "BM-07-02" and "BM-07-20" not in codes(page)


def test_phrase_prefix_and_all_words(library, users):
    library("QT-10", "Quy trình tiếp nhận hồ sơ", "Tiếp nhận và trả kết quả")
    library("QT-11", "Quy trình trả lời đơn", "Trả lời kết quả tiếp nhận")
    staff = users["staff"]
    assert codes(search_service.search(staff, '"tra ket qua"')) == ["QT-10"]
    assert set(codes(search_service.search(staff, "tiep nhan ket qua"))) == {"QT-10", "QT-11"}
    assert codes(search_service.search(staff, "tiep nhan ho so")) == ["QT-10"]
    assert set(codes(search_service.search(staff, "tiep nh*"))) == {"QT-10", "QT-11"}


def test_empty_odd_and_long_queries_give_pages_not_errors(library, users):
    library("QT-12", "Quy trình", "Nội dung")
    staff = users["staff"]
    for q in ("", "   ", None, "*", '"', "title:", "AND OR NOT ( ) [", "x" * 5000):
        page = search_service.search(staff, q)
        assert page.total == 0 and page.results == [] and len(page.query) <= 200
    page = search_service.search(staff, "noi dung", page="x", per_page=10_000, sort="??")
    assert (page.page, page.per_page, page.sort, page.total) == (1, 100, "relevance", 1)


def test_filters_sorting_and_pages(library, users):
    library("QT-13", "Quy trình mua sắm", "Tài sản công", department="QLKH")
    library("BM-13-01", "Phiếu mua sắm", "Tài sản công", doc_type="form")
    library("BM-13-02", "Biên bản mua sắm", "Tài sản công", doc_type="form")
    staff = users["staff"]
    assert codes(search_service.search(staff, "tai san", department="QLKH")) == ["QT-13"]
    assert set(codes(search_service.search(staff, "tai san", doc_type="form"))) == \
        {"BM-13-01", "BM-13-02"}
    assert codes(search_service.search(staff, "bieu mau mua sam", sort="code")) == \
        ["BM-13-01", "BM-13-02"]   # the type's name is searchable
    pages = [search_service.search(staff, "tai san cong", sort="code", page=n, per_page=2)
             for n in (1, 2)]
    assert [codes(p) for p in pages] == [["BM-13-01", "BM-13-02"], ["QT-13"]]
    assert (pages[0].total, pages[0].pages) == (3, 2)
    row = pages[1].results[0]
    assert (row.department, row.department_name, row.type, row.revision_label) == \
        ("QLKH", "Phòng Quản lý khoa học", "procedure", "01")


def test_withdrawn_document_leaves_current_search(library, users):
    library("QT-14", "Quy trình hủy", "Tiêu hủy hồ sơ hết hạn")
    publishing.withdraw(users["controller"], "QT-14", reason="Không còn áp dụng",
                        password=PASSWORD)
    indexing.apply_pending_jobs()
    assert search_service.search(users["staff"], "tieu huy").total == 0
    row = search_service.search(users["auditor"], "tieu huy", scope="all").results[0]
    assert (row.status, row.is_current) == ("obsolete", False)


def test_missing_index_degrades_search_only_and_rebuilds_to_the_same(library, users,
                                                                     search_app):
    library("QT-15", "Quy trình một", "Alpha beta")
    library("QT-15", "Quy trình một", "Alpha gamma")
    library("QT-16", "Quy trình hai", "Alpha delta")
    auditor = users["auditor"]
    queries = ["alpha", "beta", "gamma", "quy trinh", "qt15"]
    # Ties in score may come in another order from a fresh index: compare the hit sets.
    before = {q: sorted((r.code, r.revision) for r in search_service.search(
        auditor, q, scope="all").results) for q in queries}
    shutil.rmtree(search_app.config["INDEX_DIR"])
    with pytest.raises(SearchUnavailable) as raised:
        search_service.search(users["staff"], "alpha")
    assert raised.value.status == 503
    assert documents.get_document(users["staff"], "QT-15").code == "QT-15"
    status = indexing.index_status()
    assert (status["available"], status["indexed"], status["effective"]) == (False, None, 2)
    progress = []
    assert indexing.reindex(progress=lambda done, total: progress.append((done, total))) \
        == 3
    assert progress[-1] == (3, 3)
    after = {q: sorted((r.code, r.revision) for r in search_service.search(
        auditor, q, scope="all").results) for q in queries}
    assert after == before
    status = indexing.index_status()
    assert (status["available"], status["indexed"], status["pending"]) == (True, 3, 0)


def test_apply_rebuilds_a_broken_index_and_catch_up_never_raises(library, users, search_app,
                                                                 monkeypatch):
    library("QT-17", "Quy trình", "Omega")
    index_dir = Path(search_app.config["INDEX_DIR"])
    for child in index_dir.iterdir():
        if child.is_file():
            child.write_bytes(b"broken")
    indexing.catch_up(rebuild=False)   # leaves it (inside a request, say)
    with pytest.raises(SearchUnavailable):
        search_service.search(users["staff"], "omega")
    indexing.catch_up()   # rebuilds
    assert codes(search_service.search(users["staff"], "omega")) == ["QT-17"]
    monkeypatch.setitem(search_app.config, "INDEX_DIR", "/proc/forbidden/index")
    indexing.catch_up()   # cannot even rebuild: logs, does not raise


def test_a_failing_job_stays_queued_with_its_error(library, users, db, monkeypatch):
    library("QT-18", "Quy trình", "Sigma")
    library("QT-18", "Quy trình", "Sigma hai", apply=False)

    def broken(self, docs):
        raise OSError("disk full")

    backend = type(indexing._open_writer(indexing.location().path))
    monkeypatch.setattr(backend, "upsert", broken)
    assert indexing.apply_pending_jobs() == 0
    jobs = db.session.query(IndexJob).filter(IndexJob.done_at.is_(None)).all()
    assert len(jobs) == 2 and all(j.attempts == 1 and "disk full" in j.last_error for j in jobs)
    assert indexing.index_status()["failing"] == 2
    monkeypatch.undo()
    assert indexing.apply_pending_jobs() == 2
    assert codes(search_service.search(users["staff"], "sigma hai")) == ["QT-18"]


def test_jobs_are_idempotent(library, users, db):
    library("QT-19", "Quy trình", "Lambda")
    library("QT-19", "Quy trình", "Lambda hai")
    jobs = db.session.query(IndexJob).all()
    for job in jobs:
        job.done_at = None
    db.session.commit()
    assert indexing.apply_pending_jobs() == len(jobs) == 3
    assert indexing.apply_pending_jobs() == 0
    assert indexing.index_status()["indexed"] == 2
    assert search_service.search(users["staff"], "lambda").total == 1
    # A rebuild over a live index swaps it in; this process' reader follows.
    assert indexing.reindex() == 2
    assert codes(search_service.search(users["staff"], "lambda hai")) == ["QT-19"]


def test_a_published_document_is_searchable_at_once(search_app, users, procedure):
    indexing.apply_pending_jobs()   # nothing left: publishing applied its own jobs
    assert codes(search_service.search(users["staff"], "phien ban mot")) == ["QT-01"]
    publish(users, "QT-01", text="phiên bản hai", reason="Sửa")
    assert indexing.apply_pending_jobs() == 0
    assert search_service.search(users["staff"], "phien ban mot").total == 0
    assert codes(search_service.search(users["staff"], "phien ban hai")) == ["QT-01"]
