"""Search as staff and auditors meet it: the page, the API, a broken index (R22, R33, R47)."""

import shutil

import pytest

from docctl.services import indexing
from tests.helpers import publish


@pytest.fixture
def indexed(users, procedure, clock):
    """QT-01: r1 superseded (holds the word 'cổlỗthời'), r2 effective with markup in it."""
    from docctl.services import documents
    documents.register_document(users["controller"], {
        "type": "form", "title": "Phiếu đề nghị ban hành tài liệu", "department": "VP",
        "parent": "QT-01", "code": "BM-07-02"})
    publish(users, "BM-07-02", text="Biểu mẫu đề nghị sửa đổi")
    clock.advance(days=1)
    publish(users, "QT-01", text="Kiểm soát tài liệu <script>alert(1)</script> nội bộ",
            reason="Sửa đổi")
    indexing.catch_up()   # what `docctl init` / `docctl serve` do at start-up
    return users


def test_staff_search_without_diacritics(indexed, login_as):
    page = login_as("staff").get("/search?q=kiem+soat+tai+lieu").get_data(as_text=True)
    assert "QT-01" in page and "<mark>" in page


def test_markup_in_documents_is_escaped_in_snippets(indexed, login_as):
    page = login_as("staff").get("/search?q=alert").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;" in page


def test_code_spellings_over_the_api(indexed, login_as):
    client = login_as("staff")
    for q in ("BM-07-02", "BM.07.02", "bm 07 02", "bm0702"):
        body = client.get(f"/api/v1/search?q={q}").get_json()
        assert body["results"] and body["results"][0]["code"] == "BM-07-02", q


def test_superseded_words_never_reach_staff(indexed, login_as):
    staff = login_as("staff")
    body = staff.get("/api/v1/search?q=phien+ban+mot").get_json()
    assert body["total"] == 0 and body["results"] == []
    assert all("một" not in s for s in body["suggestions"])
    asked = staff.get("/api/v1/search?q=phien+ban+mot&scope=all").get_json()
    assert asked["total"] == 0                     # staff cannot widen the scope
    auditor = login_as("auditor").get("/api/v1/search?q=phien+ban+mot&scope=all").get_json()
    assert [(r["code"], r["status"]) for r in auditor["results"]] == [("QT-01", "superseded")]


def test_hostile_query_syntax_is_plain_text(indexed, login_as):
    client = login_as("staff")
    for q in ('"unbalanced', "*", "title:", "AND OR NOT", "(((", "kiem*"):
        assert client.get("/search", query_string={"q": q}).status_code == 200, q


def test_broken_index_degrades_search_only(indexed, login_as, app):
    shutil.rmtree(app.config["INDEX_DIR"])
    app.config["INDEX_DIR"] = "/proc/docctl-cannot-write-here"
    staff = login_as("staff")
    response = staff.get("/search?q=kiem")
    assert response.status_code == 503
    assert "register" in response.get_data(as_text=True) or "danh mục" in \
        response.get_data(as_text=True)
    assert staff.get("/documents/QT-01").status_code == 200       # documents still served


def test_admin_rebuild_gives_the_same_hits(indexed, login_as, app):
    from tests.helpers import csrf_token
    before = login_as("staff").get("/api/v1/search?q=tai+lieu").get_json()
    shutil.rmtree(app.config["INDEX_DIR"])
    admin = login_as("admin")
    assert admin.get("/admin/search").status_code == 200
    response = admin.post("/admin/search", data={"csrf_token": csrf_token(admin)})
    assert response.status_code == 302
    after = login_as("staff").get("/api/v1/search?q=tai+lieu").get_json()
    assert [r["code"] for r in after["results"]] == [r["code"] for r in before["results"]]
    assert indexing.index_status()["available"]


def test_only_admin_rebuilds(indexed, login_as):
    assert login_as("auditor").get("/admin/search").status_code == 403
    assert login_as("controller").post("/admin/search").status_code in (400, 403)


def test_register_page_links_keep_the_filters(indexed, login_as, app, clock):
    app.config["PAGE_SIZE"] = 1
    day = clock.today().isoformat()
    page = login_as("auditor").get(f"/documents?department=VP&as_of={day}").get_data(
        as_text=True)
    assert 'rel="next"' in page
    assert f"as_of={day}" in page.split('rel="next"')[0].rsplit("href=", 1)[1]
