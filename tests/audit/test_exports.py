"""R10: the audit log, filtered and paged on screen, exported whole and in order (CSV, .xlsx)."""

import csv
import io
import json

from openpyxl import load_workbook
from sqlalchemy import select

from docctl.models import AuditEvent
from docctl.services import audit, documents
from tests.helpers import PASSWORD, csrf_token, docx_bytes, make_user, publish


def all_entries(db) -> list[AuditEvent]:
    db.session.expire_all()
    return list(db.session.scalars(select(AuditEvent).order_by(AuditEvent.seq)))


def parse_csv(data: bytes) -> list[dict]:
    assert data.startswith(b"\xef\xbb\xbf")   # BOM: Excel opens Vietnamese correctly
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))


def parse_xlsx(data: bytes) -> list[dict]:
    sheet = load_workbook(io.BytesIO(data), read_only=True)["audit"]
    rows = list(sheet.iter_rows(values_only=True))
    return [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]


def test_exports_hold_every_entry_in_sequence_order(users, procedure, login_as, db):
    auditor = login_as("auditor")
    before = all_entries(db)
    csv_rows = parse_csv(auditor.get("/audit/export?format=csv").data)
    xlsx_rows = parse_xlsx(auditor.get("/audit/export?format=xlsx").data)
    # Each export holds what existed when it was made (the CSV export is recorded after).
    assert [int(r["seq"]) for r in csv_rows] == [e.seq for e in before]
    assert [r["seq"] for r in xlsx_rows] == [e.seq for e in before] + [before[-1].seq + 1]
    for row, entry in zip(csv_rows, before, strict=True):
        assert (row["action"], row["actor_name"], row["hash"], row["prev_hash"]) == (
            entry.action, entry.actor_name, entry.hash, entry.prev_hash)
        assert row["at_utc"] == entry.at.isoformat() and row["details"] == entry.details
        assert row["document_code"] == (entry.document_code or "")
    for row, entry in zip(xlsx_rows, before, strict=False):
        assert (row["action"], row["hash"], row["details"]) == (entry.action, entry.hash,
                                                              entry.details)


def test_formulas_are_neutralised(users, procedure, login_as, db):
    make_user("mallory", "controller", name="=HYPERLINK(\"http://evil\",\"x\")")
    documents.upload_revision(users["controller"], "QT-01", filename="x.docx",
                              data=docx_bytes("bản hai"), reason="@SUM(A1)", change="reissue")
    audit.record("withdrawn", users["controller"], reason="+cmd|' /C calc'!A0")
    audit.record("login", db.session.scalars(select(type(users["admin"])).filter_by(
        username="mallory")).one())
    db.session.commit()
    auditor = login_as("auditor")
    for rows in (parse_csv(auditor.get("/audit/export?format=csv").data),
                 parse_xlsx(auditor.get("/audit/export?format=xlsx").data)):
        cells = [str(v) for row in rows for v in row.values() if v is not None]
        assert not [c for c in cells if c[:1] in ("=", "+", "-", "@")], cells
        assert "'=HYPERLINK(\"http://evil\",\"x\")" in cells
        assert "'+cmd|' /C calc'!A0" in cells


def test_filters_by_user_document_action_and_dates(users, procedure, clock, login_as, db):
    clock.advance(days=10)
    documents.register_document(users["controller"], {
        "type": "procedure", "title": "Quy trình đánh giá", "department": "VP"})
    publish(users, "QT-02", text="đánh giá")
    day = clock.today().strftime("%d/%m/%Y")
    auditor = login_as("auditor")

    def api(query: str) -> list[dict]:
        response = auditor.get(f"/api/v1/audit?{query}")
        assert response.status_code == 200, response.get_data(as_text=True)
        return response.get_json()["entries"]

    qt02 = api("document=qt-02")
    assert qt02 and {e["document"] for e in qt02} == {"QT-02"}
    assert [e["seq"] for e in qt02] == sorted(e["seq"] for e in qt02)
    assert {e["actor"]["name"] for e in api("user=reviewer")} == {"Người dùng reviewer"}
    assert {e["action"] for e in api("action=approved")} == {"approved"}
    recent = api(f"from={day}&to={day}")
    assert recent and all(e["document"] in ("QT-02", None) for e in recent)
    assert not any(e["document"] == "QT-01" for e in recent)
    assert api("to=01/01/2000") == []
    assert auditor.get("/api/v1/audit?from=31/02/2026").status_code == 400
    assert auditor.get(f"/api/v1/audit?from={day}&to=01/01/2000").status_code == 400

    page = auditor.get("/audit?document=QT-02&action=approved").get_data(as_text=True)
    assert "QT-02" in page and "Phê duyệt và ký" in page
    csv_rows = parse_csv(auditor.get("/audit/export?format=csv&document=QT-02").data)
    assert {r["document_code"] for r in csv_rows} == {"QT-02"}
    assert [int(r["seq"]) for r in csv_rows] == [e["seq"] for e in qt02]


def test_the_log_page_is_paged_newest_first(users, procedure, login_as, db):
    for _ in range(60):
        audit.record("viewed", users["staff"])
    db.session.commit()
    auditor = login_as("auditor")
    first = auditor.get("/audit").get_data(as_text=True)
    newest = all_entries(db)[-1].seq
    assert f'data-label="#">{newest - 1}<' in first       # the read itself came after
    assert "rel=\"next\"" in first
    second = auditor.get("/audit?page=2").get_data(as_text=True)
    assert f'data-label="#">{newest - 51}<' in second


def test_hostile_text_is_inert_in_the_log_page(users, procedure, login_as, db):
    audit.record("reviewed", users["reviewer"], reason="<img src=x onerror=alert(1)>",
                 details={"note": "<script>alert(2)</script>"})
    db.session.commit()
    page = login_as("auditor").get("/audit").get_data(as_text=True)
    assert "<img src=x" not in page and "<script>alert" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page


def test_only_auditors_and_admins_read_the_trail(users, procedure, login_as, client):
    for role in ("controller", "reviewer", "approver", "staff"):
        user = login_as(role)
        for path in ("/audit", "/audit/export?format=csv", "/audit/documents/QT-01/timeline",
                     "/audit/documents/QT-01/evidence", "/audit/evidence", "/audit/verify",
                     "/api/v1/audit", "/api/v1/documents/QT-01/timeline",
                     "/api/v1/documents/QT-01/evidence"):
            assert user.get(path).status_code == 403, (role, path)
        assert user.post("/api/v1/verify",
                         headers={"X-CSRFToken": csrf_token(user)}).status_code == 403
    for role in ("auditor", "admin"):
        assert login_as(role).get("/audit").status_code == 200
    assert client.get("/audit").status_code == 302
    assert client.get("/api/v1/audit").status_code == 401
    assert client.post("/api/v1/verify").status_code in (400, 401)   # no CSRF token either
    token = client.post("/api/v1/auth/token", json={"username": "staff",
                                                    "password": PASSWORD}).get_json()["token"]
    response = client.get("/api/v1/audit", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 403 and response.is_json
    assert json.loads(response.data)["error"] == "forbidden"
