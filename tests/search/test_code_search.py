"""Codes as written are found by any spelling, in each backend; hits show code and label."""

import pytest

from docctl.extensions import db
from docctl.services import documents, indexing, organisation
from docctl.services import search as search_service
from tests.helpers import publish

CODES = {"PGL-TT21-BM02a": ("form", "Phiếu theo dõi hiệu chuẩn"),
         "BM-03-03": ("form", "Sổ giao nhận hồ sơ"),
         "QT-01": ("procedure", "Quy trình kiểm soát tài liệu"),
         "QT-ĐT-03": ("procedure", "Quy trình đào tạo nội bộ")}


@pytest.fixture
def agency(search_app, users):
    """Documents registered with their own case and separators, published and indexed."""
    for code, (doc_type, title) in CODES.items():
        documents.register_document(users["controller"], {
            "type": doc_type, "title": title, "department": "VP", "code": code})
        publish(users, code, text=f"Nội dung của {title.lower()}")
    publish(users, "qt 01", text="Nội dung sửa đổi", reason="Sửa đổi", change="amendment")
    indexing.apply_pending_jobs()
    return users


@pytest.mark.parametrize(("typed", "code"), [
    ("qt01", "QT-01"), ("QT 01", "QT-01"), ("qt-01", "QT-01"), ("qt.01", "QT-01"),
    ("bm0303", "BM-03-03"), ("bm.03.03", "BM-03-03"), ("BM 03 03", "BM-03-03"),
    ("pgl tt21 bm02a", "PGL-TT21-BM02a"), ("PGLTT21BM02A", "PGL-TT21-BM02a"),
    ("pgl-tt21-bm02A", "PGL-TT21-BM02a"), ("qt dt 03", "QT-ĐT-03"), ("QT-ĐT-03", "QT-ĐT-03")])
def test_a_code_typed_any_way_finds_the_document_first(agency, typed, code):
    page = search_service.search(agency["staff"], typed)
    assert page.results, typed
    assert page.results[0].code == code   # shown as registered, never folded or upper-cased


def test_a_hit_shows_the_label_in_the_organisations_format(agency):
    organisation.put(organisation.LABEL_FORMAT, "sd")
    db.session.commit()
    hit = search_service.search(agency["staff"], "qt01").results[0]
    assert (hit.code, hit.revision, hit.revision_label) == ("QT-01", 2, "01sđ01")
    organisation.put(organisation.LABEL_FORMAT, "slash")
    db.session.commit()
    assert search_service.search(agency["staff"], "QT 01").results[0].revision_label == "01/01"
