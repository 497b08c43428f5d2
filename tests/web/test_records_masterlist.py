"""Pages: a procedure's records ("Hồ sơ lưu") on its document page and revision page, the
secretary's records table, and the records master list as of two days with its exports."""

import io
import re

import docx
import openpyxl
import pytest

from docctl.models import AuditEvent
from docctl.services import documents, record_types
from tests.helpers import csrf_token
from tests.services.test_forms import draft
from tests.services.test_record_types import build_records_world


@pytest.fixture
def world(clock, users):
    return build_records_world(clock, users)


def records_section(page: str) -> str:
    match = re.search(r'<section class="panel" aria-labelledby="h-records">(.*?)</section>',
                      page, re.S)
    assert match, "no records section on the page"
    return match.group(1)


def saved(code: str, number: int) -> list[tuple]:
    revision = documents.find_by_code(code).revisions[number - 1]
    return [(rt.form.code if rt.form else rt.name, rt.keeper.code, rt.location, rt.retention)
            for rt in record_types.record_types_of(revision)]


def test_staff_see_the_records_of_the_revision_in_force_read_only(login_as, world):
    staff = login_as("staff")
    section = records_section(staff.get("/documents/QT-05").get_data(as_text=True))
    assert "Hồ sơ lưu" in section
    assert "BM-05-a" in section and "05 năm" in section and "Tủ hồ sơ VP" in section
    assert "BM-05-b" not in section and "10 năm" not in section   # revision 2: not yet
    assert "<input" not in section
    page = staff.get("/documents/QT-05/revisions/1").get_data(as_text=True)
    assert "/documents/QT-05/revisions/1/records" in page
    table = staff.get("/documents/QT-05/revisions/1/records")
    assert table.status_code == 200
    text = table.get_data(as_text=True)
    assert "05 năm" in text and 'name="retention-0"' not in text
    assert staff.get("/documents/QT-05/revisions/2/records").status_code == 404


def test_the_secretary_edits_the_records_table_of_a_draft(login_as, world, users):
    number = draft(users, "QT-05")
    secretary = login_as("controller")
    url = f"/documents/QT-05/revisions/{number}/records"
    assert url in secretary.get(f"/documents/QT-05/revisions/{number}").get_data(as_text=True)
    page = secretary.get(url).get_data(as_text=True)
    # The draft starts from revision 2's list, plus two blank rows to add to.
    assert 'name="rows" value="4"' in page and 'value="10 năm"' in page
    assert 'name="csrf_token"' in page and 'for="f-retention-0"' in page
    data = {"rows": "4", "form-0": "BM-05-a", "keeper-0": "VP", "location-0": "Tủ A",
            "retention-0": "03 năm", "form-1": "BM-05-b", "keeper-1": "QLKH",
            "retention-1": "Vĩnh viễn", "remove-1": "1", "name-2": "Biên bản kiểm tra",
            "keeper-2": "QLKH", "location-2": "Kho", "retention-2": "02 năm",
            "action": "save"}
    assert secretary.post(url, data=data).status_code == 400   # no CSRF token
    response = secretary.post(url, data={**data, "csrf_token": csrf_token(secretary)})
    assert response.status_code == 302
    assert saved("QT-05", number) == [("BM-05-a", "VP", "Tủ A", "03 năm"),
                                      ("Biên bản kiểm tra", "QLKH", "Kho", "02 năm")]


def test_a_bad_row_is_shown_with_its_field_marked_and_nothing_saved(login_as, world, users):
    number = draft(users, "QT-05")
    secretary = login_as("controller")
    url = f"/documents/QT-05/revisions/{number}/records"
    before = saved("QT-05", number)
    response = secretary.post(url, data={
        "rows": "3", "form-0": "", "keeper-0": "", "retention-0": "",   # blank: skipped
        "form-1": "BM-05-a", "keeper-1": "VP", "retention-1": "05 năm",
        "form-2": "BM-05-b", "keeper-2": "VP", "retention-2": "lâu lắm",
        "action": "save", "csrf_token": csrf_token(secretary)})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Dòng 2 (BM-05-b)" in page and "lâu lắm" in page
    assert re.search(r'id="f-retention-2"[^>]*aria-invalid="true"', page)
    assert not re.search(r'id="f-retention-1"[^>]*aria-invalid', page)
    assert 'value="lâu lắm"' in page   # what was typed is kept
    assert saved("QT-05", number) == before


def test_add_rows_keeps_what_was_typed_and_adds_blank_rows(login_as, world, users):
    number = draft(users, "QT-05")
    secretary = login_as("controller")
    url = f"/documents/QT-05/revisions/{number}/records"
    response = secretary.post(url, data={
        "rows": "1", "form-0": "BM-05-a", "keeper-0": "VP", "retention-0": "07 năm",
        "action": "add", "csrf_token": csrf_token(secretary)})
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert 'name="rows" value="3"' in page and 'value="07 năm"' in page
    assert saved("QT-05", number)[0][3] == "10 năm"   # adding rows saves nothing


def test_staff_and_auditors_cannot_post_the_table(login_as, world, users):
    number = draft(users, "QT-05")
    before = saved("QT-05", number)
    for role in ("staff", "auditor"):
        client = login_as(role)
        response = client.post(f"/documents/QT-05/revisions/{number}/records", data={
            "rows": "1", "form-0": "BM-05-a", "keeper-0": "VP", "retention-0": "01 năm",
            "action": "save", "csrf_token": csrf_token(client)})
        assert response.status_code in (403, 404)
    assert saved("QT-05", number) == before


def test_master_list_page_as_of_two_days_is_printable(login_as, world, app):
    auditor = login_as("auditor")
    first = auditor.get("/records/master-list?as_of=2026-01-05").get_data(as_text=True)
    second = auditor.get("/records/master-list?as_of=02/03/2026").get_data(as_text=True)
    body = lambda page: page[page.index("<tbody>"):page.index("</tbody>")]   # noqa: E731
    assert "BM-05-a" in body(first) and "05 năm" in body(first)
    assert "BM-05-b" not in body(first) and "10 năm" not in body(first)
    assert "10 năm" in body(second) and "Sổ theo dõi" in body(second)
    assert "Vĩnh viễn" in body(second) and "QT-05" in body(second)
    for page in (first, second):
        assert 'href="/static/css/print-list.css" media="print"' in page
        assert "DANH MỤC HỒ SƠ" in page and '<div class="print-head"' in page
    assert "05/01/2026" in first and "02/03/2026" in second
    assert "master-list.xlsx?as_of=2026-01-05" in first
    bad = auditor.get("/records/master-list?as_of=2026-02-31")
    assert bad.status_code == 400 and "dd/mm/yyyy" in bad.get_data(as_text=True)


def test_staff_see_todays_master_list_only(login_as, world):
    staff = login_as("staff")
    page = staff.get("/records/master-list")
    assert page.status_code == 200 and "BM-05-a" in page.get_data(as_text=True)
    assert 'name="as_of"' not in page.get_data(as_text=True)
    assert staff.get("/records/master-list?as_of=2026-01-05").status_code == 403


def test_page_exports_open_and_neutralise_formulas(login_as, world, users, db):
    number = draft(users, "QT-05")
    record_types.set_record_types(users["controller"], "QT-05", number, [
        {"form": "BM-05-a", "keeper": "VP", "location": "=HYPERLINK(\"http://x\",\"bấm\")",
         "retention": "05 năm", "name": "+SUM(1,2)"}])
    from tests.services.test_forms import approve, reviewed
    reviewed(users, "QT-05", number)
    approve(users, "QT-05", number, world.today())
    auditor = login_as("auditor")
    response = auditor.get("/records/master-list.xlsx")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml")
    sheet = openpyxl.load_workbook(io.BytesIO(response.data)).active
    row = [c.value for c in sheet[6]]
    assert row[1] == "'+SUM(1,2)" and row[4].startswith("'=HYPERLINK")
    assert all(c.data_type != "f" for line in sheet.iter_rows() for c in line)
    response = auditor.get("/records/master-list.docx")
    assert response.status_code == 200
    table = docx.Document(io.BytesIO(response.data)).tables[0]
    assert table.rows[1].cells[2].text == "BM-05-a"
    assert auditor.get("/records/master-list.pdf").status_code == 400
    events = AuditEvent.query.filter_by(action="records_master_list_exported").count()
    assert events == 2
