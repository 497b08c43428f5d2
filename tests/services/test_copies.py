"""Controlled copies through the service: stamps, obsolete marks, originals, PDFs, audit."""

import hashlib
import io
import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import docx
import pytest
from sqlalchemy import select

from docctl import office
from docctl.errors import Forbidden, IntegrityFailure, NotFound, ValidationError
from docctl.models import AuditEvent
from docctl.office import inspect_docx
from docctl.office.pdf import RenditionUnavailable
from docctl.services import copies, documents, publishing
from docctl.services.context import store
from tests.helpers import PASSWORD, docx_bytes, publish

VML = "{urn:schemas-microsoft-com:vml}"
W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
# 07:05 UTC is 14:05 in Hà Nội.
MOMENT = datetime(2026, 11, 22, 7, 5, tzinfo=UTC)


@pytest.fixture
def timeline(clock, users):
    """QT-01 published at a known moment (revision 1 effective on 22/11/2026)."""
    clock.moment = MOMENT
    documents.register_document(users["controller"], {
        "type": "procedure", "title": "Quy trình kiểm soát tài liệu", "department": "VP"})
    publish(users, "QT-01", text="phiên bản một")
    return clock


def headers(data: bytes) -> list[str]:
    document = docx.Document(io.BytesIO(data))
    return ["".join(t.text or "" for t in getattr(s, v)._element.iter(W + "t"))
            for s in document.sections
            for v in ("header", "first_page_header", "even_page_header")]


def watermarks(data: bytes) -> list[str]:
    document = docx.Document(io.BytesIO(data))
    return [tp.get("string") for s in document.sections
            for v in ("header", "first_page_header", "even_page_header")
            for tp in getattr(s, v)._element.iter(VML + "textpath") if tp.get("string")]


def downloads(db) -> list[dict]:
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "download")
                                .order_by(AuditEvent.seq)).all()
    return [{"actor": e.actor_name, "rev": e.revision_number, **json.loads(e.details)}
            for e in events]


def git_bytes(revision) -> bytes:
    return store().read_file(revision.commit_sha, "documents/QT/QT-01/source.docx")


def test_effective_revision_downloads_as_a_stamped_controlled_copy(app, db, users, timeline):
    timeline.advance(hours=1)
    copy = copies.controlled_copy(users["staff"], "QT-01", 1)
    assert copy.filename == "QT-01_r01.docx"
    assert copy.mimetype.endswith("wordprocessingml.document")
    for text in headers(copy.data):
        for needle in ("QT-01 — Quy trình kiểm soát tài liệu", "Lần ban hành: 01",
                       "Ngày hiệu lực / Effective date: 22/11/2026",
                       "Đang hiệu lực / Effective", "BẢN KIỂM SOÁT / CONTROLLED COPY",
                       "Người dùng staff (staff) — 22/11/2026 15:05",
                       "Uncontrolled when printed"):
            assert needle in text
    assert "QT-01 header" in headers(copy.data)[0]   # the document's own header is kept
    assert watermarks(copy.data) == []
    body = inspect_docx(copy.data).text
    assert "phiên bản một" in body
    for signer in ("Người dùng controller", "Người dùng reviewer", "Người dùng approver"):
        assert signer in body
    assert "THEO DÕI SỬA ĐỔI TÀI LIỆU" in body and "Ban hành lần đầu" in body
    assert downloads(db)[-1] == {"actor": "Người dùng staff", "rev": 1, "kind": "controlled",
                                 "status": "effective", "filename": "QT-01_r01.docx",
                                 "sha256": documents.get_revision(users["staff"], "QT-01",
                                                                  1).sha256}


def test_originals_stay_byte_identical_after_many_downloads(app, db, users, timeline):
    revision = documents.get_revision(users["auditor"], "QT-01", 1)
    before = git_bytes(revision)
    assert before == docx_bytes("phiên bản một", "QT-01")   # exactly what was uploaded
    copies_made = [copies.controlled_copy(users[who], "QT-01", 1).data
                   for who in ("staff", "auditor", "controller")]
    assert all(c != before for c in copies_made)
    after = git_bytes(revision)
    assert after == before and hashlib.sha256(after).hexdigest() == revision.sha256
    original = copies.controlled_copy(users["controller"], "QT-01", 1, kind="original")
    assert original.data == before and original.filename == "QT-01_r01_BAN-GOC.docx"
    assert [d["kind"] for d in downloads(db)] == ["controlled"] * 3 + ["original"]


def test_an_amended_successor_is_named_by_its_label(app, db, users, timeline):
    """An obsolete copy names what replaced it as the agency prints it (01sđ01), not r2."""
    from docctl.services import organisation
    organisation.put(organisation.LABEL_FORMAT, "sd")
    db.session.commit()
    timeline.advance(days=10)
    publish(users, "QT-01", text="phiên bản hai", reason="Sửa đổi bước 3", change="amendment")
    copy = copies.controlled_copy(users["auditor"], "QT-01", 1)
    for text in headers(copy.data):
        assert "đã được thay thế bởi lần ban hành 01sđ01" in text
        assert "superseded by revision 01sđ01" in text


def test_superseded_and_withdrawn_revisions_are_stamped_obsolete(app, db, users, timeline):
    timeline.advance(days=10)
    publish(users, "QT-01", text="phiên bản hai", reason="Bổ sung bước kiểm tra")
    copy = copies.controlled_copy(users["auditor"], "QT-01", 1)
    assert copy.filename == "QT-01_r01_HET-HIEU-LUC.docx"
    for text in headers(copy.data):
        assert "HẾT HIỆU LỰC / OBSOLETE" in text
        assert "superseded by revision 02 on 02/12/2026" in text
        assert "BẢN KIỂM SOÁT" not in text
    assert watermarks(copy.data) and all(w == "HẾT HIỆU LỰC / OBSOLETE"
                                         for w in watermarks(copy.data))
    history = inspect_docx(copy.data).text
    assert "Bổ sung bước kiểm tra" not in history   # history as revision 1 was issued
    assert downloads(db)[-1]["kind"] == "obsolete"

    current = copies.controlled_copy(users["auditor"], "QT-01", 2)
    assert "Bổ sung bước kiểm tra" in inspect_docx(current.data).text
    assert "BẢN KIỂM SOÁT / CONTROLLED COPY" in headers(current.data)[0]

    timeline.advance(days=1)
    publishing.withdraw(users["controller"], "QT-01", reason="Bãi bỏ theo 05/QĐ-UBND",
                        password=PASSWORD)
    copy = copies.controlled_copy(users["controller"], "QT-01", 2)
    assert copy.filename == "QT-01_r02_HET-HIEU-LUC.docx"
    for text in headers(copy.data):
        assert ("HẾT HIỆU LỰC / OBSOLETE — đã thu hồi ngày 03/12/2026 / withdrawn on "
                "03/12/2026: Bãi bỏ theo 05/QĐ-UBND") in text
    assert watermarks(copy.data)
    assert "Người thu hồi / Withdrawn by" in inspect_docx(copy.data).text


def test_staff_never_get_obsolete_copies_by_any_path(app, db, users, timeline):
    timeline.advance(days=1)
    publish(users, "QT-01", text="phiên bản hai", reason="Sửa đổi")
    for kind in ("auto", "original"):
        for fmt in ("docx", "pdf"):
            with pytest.raises(NotFound):
                copies.controlled_copy(users["staff"], "QT-01", 1, kind=kind, fmt=fmt)
    publishing.withdraw(users["controller"], "QT-01", reason="Hết phạm vi",
                        password=PASSWORD)
    for number in (1, 2):
        with pytest.raises(NotFound):
            copies.controlled_copy(users["staff"], "QT-01", number)
    assert downloads(db) == []


def test_only_controllers_get_the_original_and_only_of_the_revision_in_force(
        app, db, users, timeline):
    for who in ("staff", "auditor", "approver"):
        with pytest.raises(Forbidden):
            copies.controlled_copy(users[who], "QT-01", 1, kind="original")
    publish(users, "QT-01", text="bản hai", reason="Sửa đổi",
            effective=timeline.today() + timedelta(days=5))
    with pytest.raises(Forbidden):   # approved, not yet in force
        copies.controlled_copy(users["controller"], "QT-01", 2, kind="original")
    timeline.advance(days=5)
    publishing.take_effect_due()
    with pytest.raises(Forbidden):   # superseded
        copies.controlled_copy(users["controller"], "QT-01", 1, kind="original")
    with pytest.raises(ValidationError):
        copies.controlled_copy(users["controller"], "QT-01", 2, kind="original", fmt="pdf")
    assert copies.controlled_copy(users["controller"], "QT-01", 2,
                                  kind="original").data == docx_bytes("bản hai", "QT-01")
    assert [d["kind"] for d in downloads(db)] == ["original"]


def test_approved_revision_waiting_for_its_date_says_not_yet_in_force(
        app, db, users, timeline):
    publish(users, "QT-01", text="bản hai", reason="Sửa đổi",
            effective=timeline.today() + timedelta(days=9))
    copy = copies.controlled_copy(users["controller"], "QT-01", 2)
    assert copy.filename == "QT-01_r02_CHUA-HIEU-LUC.docx"
    for text in headers(copy.data):
        assert "CHƯA CÓ HIỆU LỰC / NOT YET IN FORCE — có hiệu lực từ 01/12/2026" in text
        assert "BẢN KIỂM SOÁT" not in text
    assert watermarks(copy.data)


def test_drafts_are_stamped_draft_and_bad_requests_refused(app, db, users, timeline):
    documents.upload_revision(users["controller"], "QT-01", filename="d.docx",
                              data=docx_bytes("dự thảo"), reason="Dự thảo", change="reissue")
    copy = copies.controlled_copy(users["controller"], "QT-01", 2)
    text = office.extract_text(copy.data)
    assert "DỰ THẢO / DRAFT" in text and "BẢN KIỂM SOÁT" not in text
    assert copy.filename.endswith("_DU-THAO.docx")
    with pytest.raises(Forbidden):   # an unstamped draft is never handed out as an original
        copies.controlled_copy(users["controller"], "QT-01", 2, kind="original")
    with pytest.raises(ValidationError):
        copies.controlled_copy(users["controller"], "QT-01", 1, kind="stamped")
    with pytest.raises(ValidationError):
        copies.controlled_copy(users["controller"], "QT-01", 1, fmt="odt")
    with pytest.raises(NotFound):
        copies.controlled_copy(users["controller"], "QT-99", 1)


def test_a_tampered_record_refuses_the_copy_and_is_recorded(app, db, users, timeline):
    revision = documents.get_revision(users["auditor"], "QT-01", 1)
    revision.sha256 = "0" * 64
    db.session.commit()
    with pytest.raises(IntegrityFailure):
        copies.controlled_copy(users["staff"], "QT-01", 1)
    actions = db.session.scalars(select(AuditEvent.action)).all()
    assert "integrity_alert" in actions and downloads(db) == []


def test_pdf_without_libreoffice_is_503_and_nothing_is_recorded(app, db, users, timeline):
    app.config["SOFFICE_PATH"] = "/nonexistent/soffice"
    with pytest.raises(RenditionUnavailable) as caught:
        copies.controlled_copy(users["staff"], "QT-01", 1, fmt="pdf")
    assert caught.value.status == 503 and "LibreOffice" in str(caught.value.message)
    assert downloads(db) == []


@pytest.mark.skipif(shutil.which("soffice") is None,
                    reason="LibreOffice (soffice) is not installed: PDF copies not tested")
def test_pdf_copies_are_rendered_cached_and_recorded(app, db, users, timeline):
    first = copies.controlled_copy(users["staff"], "QT-01", 1, fmt="pdf")
    assert first.data.startswith(b"%PDF") and first.mimetype == "application/pdf"
    assert first.filename == "QT-01_r01.pdf"
    cache = Path(app.config["INSTANCE_DIR"]) / "pdf-cache"
    assert len(list(cache.glob("*.pdf"))) == 1
    again = copies.controlled_copy(users["staff"], "QT-01", 1, fmt="pdf")   # same minute
    assert again.data == first.data
    timeline.advance(minutes=1)   # the who/when line changed: a new rendition
    copies.controlled_copy(users["staff"], "QT-01", 1, fmt="pdf")
    assert len(list(cache.glob("*.pdf"))) == 2
    assert [(d["kind"], d["stamp"]) for d in downloads(db)] == [("pdf", "controlled")] * 3
