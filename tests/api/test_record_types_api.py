"""GET/PUT a procedure revision's record types, and the records master list, over /api/v1."""

import io

import docx
import openpyxl
import pytest

from docctl.models import AuditEvent
from docctl.models_records import RecordType
from tests.services.test_forms import draft
from tests.services.test_record_types import build_records_world


@pytest.fixture
def world(clock, users):
    return build_records_world(clock, users)


def brief(rows):
    return [(r["form"], r["keeper"], r["retention"]) for r in rows]


def test_record_types_are_read_and_written_over_the_api(client, token, world, users):
    staff, sec = token("staff"), token("controller")
    response = client.get("/api/v1/documents/QT-05/revisions/1/record-types", headers=staff)
    assert brief(response.get_json()) == [("BM-05-a", "VP", "05 năm")]   # the one in force
    # Revision 2 is approved, in force from 02/03/2026: not staff's to read yet.
    assert client.get("/api/v1/documents/QT-05/revisions/2/record-types",
                      headers=staff).status_code == 404
    response = client.get("/api/v1/documents/QT-05/revisions/2/record-types", headers=sec)
    assert response.status_code == 200
    body = response.get_json()
    assert brief(body) == [("BM-05-a", "VP", "10 năm"), ("BM-05-b", "QLKH", "Vĩnh viễn")]
    assert body[1]["retention_years"] is None and body[0]["retention_years"] == 10
    assert body[0]["form_title"] == "Tài liệu BM-05-a" and body[0]["form_label"] == "01"
    number = draft(users, "QT-05")
    url = f"/api/v1/documents/QT-05/revisions/{number}/record-types"
    assert brief(client.get(url, headers=sec).get_json()) == brief(body)   # a draft keeps them
    response = client.put(url, headers=sec, json=[
        {"form": "BM-05-b", "keeper": "VP", "location": "Tủ A", "retention": "03 năm"}])
    assert response.status_code == 200, response.get_json()
    assert brief(response.get_json()) == [("BM-05-b", "VP", "03 năm")]
    assert client.get(url, headers=sec).get_json() == response.get_json()
    wrapped = client.put(url, headers=sec, json={"record_types": []})
    assert wrapped.status_code == 200 and wrapped.get_json() == []
    assert client.get(url).status_code == 401


@pytest.mark.parametrize("role", ["staff", "auditor", "reviewer", "approver", "admin"])
def test_only_the_secretary_may_put(client, token, world, users, db, role):
    number = draft(users, "QT-05")
    url = f"/api/v1/documents/QT-05/revisions/{number}/record-types"
    before = db.session.query(RecordType).count()
    response = client.put(url, headers=token(role), json=[
        {"form": "BM-05-b", "keeper": "VP", "retention": "03 năm"}])
    assert response.status_code == 403 and response.get_json()["message"]
    assert db.session.query(RecordType).count() == before


@pytest.mark.parametrize("body, status, field", [
    ([{"form": "BM-99-99", "keeper": "VP", "retention": "05 năm"}], 422, "record_types[0].form"),
    ([{"form": "QT-05", "keeper": "VP", "retention": "05 năm"}], 422, "record_types[0].form"),
    ([{"form": "BM-05-a", "keeper": "NOPE", "retention": "05 năm"}], 422,
     "record_types[0].keeper"),
    ([{"form": "BM-05-a", "keeper": "VP", "retention": "05 năm"},
      {"form": "BM-05-b", "keeper": "VP", "retention": "lâu lắm"}], 422,
     "record_types[1].retention"),
    ([{"form": "BM-05-a", "keeper": "VP"}], 400, "record_types[0].retention"),
    ([{"form": "BM-05-a", "keeper": "VP", "retention": "05 năm", "x": 1}], 400,
     "record_types[0].x"),
    ({"form": "BM-05-a"}, 400, "record_types"),
    ("BM-05-a", 400, "record_types"),
])
def test_bad_input_is_refused_naming_row_and_field_and_nothing_changes(
        client, token, world, users, body, status, field):
    sec = token("controller")
    number = draft(users, "QT-05")
    url = f"/api/v1/documents/QT-05/revisions/{number}/record-types"
    before = client.get(url, headers=sec).get_json()
    events = AuditEvent.query.count()
    response = client.put(url, headers=sec, json=body, environ_base={"HTTP_ACCEPT_LANGUAGE":
                                                                     "vi"})
    assert response.status_code == status
    answer = response.get_json()
    assert answer["error"] and answer["message"] and answer["field"] == field
    assert client.get(url, headers=sec).get_json() == before
    assert AuditEvent.query.count() == events


def test_error_messages_are_translated(client, token, world, users):
    number = draft(users, "QT-05")
    response = client.put(f"/api/v1/documents/QT-05/revisions/{number}/record-types",
                          headers=token("controller"),
                          json=[{"form": "BM-05-a", "keeper": "VP", "retention": "lâu lắm"}])
    message = response.get_json()["message"]
    assert "Dòng 1" in message and "thời gian lưu" in message.lower(), message


def test_controlled_and_unknown_revisions_are_refused(client, token, world):
    sec = token("controller")
    body = [{"form": "BM-05-a", "keeper": "VP", "retention": "05 năm"}]
    response = client.put("/api/v1/documents/QT-05/revisions/1/record-types", headers=sec,
                          json=body)
    assert response.status_code == 409 and "QT-05" in response.get_json()["message"]
    assert client.put("/api/v1/documents/QT-05/revisions/9/record-types", headers=sec,
                      json=body).status_code == 404
    assert client.get("/api/v1/documents/QT-77/revisions/1/record-types",
                      headers=sec).status_code == 404


def test_master_list_json_as_of_two_days(client, token, world):
    auditor = token("auditor")
    first = client.get("/api/v1/master-lists/records?as_of=2026-01-05", headers=auditor)
    assert first.status_code == 200
    assert [(r["form"], r["retention"]) for r in first.get_json()["records"]] == [
        ("BM-05-a", "05 năm")]
    second = client.get("/api/v1/master-lists/records?format=json&as_of=02/03/2026",
                        headers=auditor).get_json()
    assert second["as_of"] == "2026-03-02"
    assert [(r["number"], r["form"], r["retention"], r["procedure"], r["keeper"])
            for r in second["records"]] == [(1, "BM-05-a", "10 năm", "QT-05", "VP"),
                                            (2, "BM-05-b", "Vĩnh viễn", "QT-05", "QLKH")]


def test_master_list_exports_open_and_are_recorded(client, token, world):
    auditor = token("auditor")
    response = client.get("/api/v1/master-lists/records?format=xlsx&as_of=2026-03-02",
                          headers=auditor)
    assert response.status_code == 200 and "attachment" in response.headers[
        "Content-Disposition"]
    sheet = openpyxl.load_workbook(io.BytesIO(response.data)).active
    values = [[c for c in row] for row in sheet.iter_rows(values_only=True)]
    assert values[1][0] == "DANH MỤC HỒ SƠ" and "02/03/2026" in values[2][0]
    assert values[4][:3] == ["STT", "Tên hồ sơ", "Mã biểu mẫu"]
    assert values[5][2] == "BM-05-a" and values[5][5] == "10 năm"
    assert values[6][1] == "Sổ theo dõi" and values[6][5] == "Vĩnh viễn"
    assert sheet.freeze_panes == "A6" and sheet.auto_filter.ref.startswith("A5:G")
    response = client.get("/api/v1/master-lists/records?format=docx&as_of=2026-01-05",
                          headers=auditor)
    assert response.status_code == 200
    document = docx.Document(io.BytesIO(response.data))
    text = "\n".join(p.text for p in document.paragraphs)
    assert "DANH MỤC HỒ SƠ" in text and "05/01/2026" in text
    table = document.tables[0]
    assert [c.text for c in table.rows[0].cells][:2] == ["STT", "Tên hồ sơ"]
    assert [c.text for c in table.rows[1].cells] == [
        "1", "Tài liệu BM-05-a", "BM-05-a", "Văn phòng", "Tủ hồ sơ VP", "05 năm", "QT-05"]
    assert len(table.rows) == 2
    events = AuditEvent.query.filter_by(action="records_master_list_exported").all()
    assert [e.details.count('"xlsx"') + e.details.count('"docx"') for e in events] == [1, 1]


@pytest.mark.parametrize("query, status", [
    ("as_of=2026-13-40", 400), ("as_of=hôm qua", 400), ("format=pdf", 400),
])
def test_master_list_bad_parameters_are_refused(client, token, world, query, status):
    response = client.get(f"/api/v1/master-lists/records?{query}", headers=token("auditor"))
    assert response.status_code == status and response.get_json()["message"]


def test_staff_read_todays_master_list_but_not_another_day(client, token, world):
    staff = token("staff")
    today = client.get("/api/v1/master-lists/records", headers=staff)
    assert today.status_code == 200 and today.get_json()["records"]
    assert client.get("/api/v1/master-lists/records?as_of=2026-01-05",
                      headers=staff).status_code == 403
    assert client.get("/api/v1/master-lists/records").status_code == 401
