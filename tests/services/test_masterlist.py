"""Master lists as agencies keep them, and every bad input, each with its named message."""

import unicodedata
from datetime import date, datetime

import pytest
from flask_babel import force_locale

from docctl.services import importing, importsource, masterlist
from tests.fixtures.agency import HEADER, agency_rows, list_csv, list_xlsx, write_agency

TODAY = date(2026, 12, 7)
DEPARTMENTS = [("VP", "Văn phòng", "Office"), ("QLKH", "Phòng Quản lý khoa học", None)]


@pytest.fixture(autouse=True)
def english(app):
    """Read the messages in English here (the pages' Vietnamese is tested in tests/web)."""
    with force_locale("en"):
        yield


@pytest.fixture
def database_url(tmp_path):
    """These tests read lists, not the database: SQLite is enough."""
    return f"sqlite:///{tmp_path / 'docctl.sqlite'}"


def read(data: bytes, name: str = "list.xlsx") -> masterlist.MasterList:
    return masterlist.read_list(name, data, departments=DEPARTMENTS, today=TODAY)


def row(code="QT-01", title="Quy trình", kind="Quy trình", dept="VP", issue=1, amendment=0,
        effective="26/01/2026", parent="", file="QT-01.docx", approver="", approved=""):
    return [1, code, title, kind, dept, issue, amendment, effective, parent, file, approver,
            approved]


def errors(entry) -> str:
    return " | ".join(str(e) for e in entry.errors)


def test_vietnamese_list_below_a_title_block(app):
    entries = read(list_xlsx(agency_rows())).entries
    assert [e.code for e in entries][:3] == ["STCL", "QT-01", "BM-01-01"]
    assert all(not e.errors for e in entries), [errors(e) for e in entries]
    qt = entries[1]
    assert (qt.doc_type, qt.department, qt.issue, qt.amendment) == ("procedure", "VP", 3, 1)
    assert qt.approver == "Trần Thị Phó" and qt.approved_on == date(2026, 1, 20)
    assert entries[2].parent == "QT-01" and entries[2].file == "Biểu mẫu/BM-01-01.docx"


def test_english_headers_and_types(app):
    header = ["Code", "Title", "Type", "Department", "Issue", "Amendment", "Effective date",
              "Parent", "File name"]
    data = list_xlsx([["HD-01", "Work instruction", "Work instruction", "Office", "02", "1",
                       "2026-01-26", "", "HD-01.docx"]], header=header)
    entry = read(data).entries[0]
    assert not entry.errors, errors(entry)
    assert (entry.doc_type, entry.department, entry.issue, entry.amendment) == \
        ("instruction", "VP", 2, 1)


@pytest.mark.parametrize("kind,expected", [
    ("Quy trình", "procedure"), ("Biểu mẫu", "form"), ("Hướng dẫn", "instruction"),
    ("Sổ tay", "manual"), ("Chính sách", "policy"), ("Mục tiêu", "objective"),
    ("Tài liệu bên ngoài", "external"), ("quy trinh", "procedure"), ("Form", "form")])
def test_types_in_both_languages(app, kind, expected):
    entry = read(list_xlsx([row(kind=kind)])).entries[0]
    assert entry.doc_type == expected


@pytest.mark.parametrize("value,expected", [
    (datetime(2026, 1, 26), date(2026, 1, 26)), (46048, date(2026, 1, 26)),
    ("26/01/2026", date(2026, 1, 26)), ("26-1-2026", date(2026, 1, 26)),
    ("2026-01-26", date(2026, 1, 26)), ("46048", date(2026, 1, 26)),
    ("5.3.2024", date(2024, 3, 5)), ("2026-01-26 00:00:00", date(2026, 1, 26)),
    ("26/01/2026 00:00", date(2026, 1, 26))])
def test_dates_as_agencies_type_them(app, value, expected):
    entry = read(list_xlsx([row(effective=value)])).entries[0]
    assert not entry.errors, errors(entry)
    assert entry.effective_date == expected


@pytest.mark.parametrize("issue,amendment,expected", [
    ("03sđ01", None, (3, 1)), ("03/01", None, (3, 1)), ("03.01", "", (3, 1)),
    ("Lần ban hành: 03 - Lần sửa đổi: 01", None, (3, 1)), (3, 2, (3, 2)), ("02", None, (2, 0))])
def test_issue_labels(app, issue, amendment, expected):
    entry = read(list_xlsx([row(issue=issue, amendment=amendment)])).entries[0]
    assert not entry.errors, errors(entry)
    assert (entry.issue, entry.amendment) == expected


def test_missing_required_column(app):
    header = [h for h in HEADER if h != "Lần ban hành"]
    data = list_xlsx([row()[:5] + row()[6:]], header=header)
    with pytest.raises(masterlist.ListError) as caught:
        read(data)
    assert "lacks the column" in caught.value.message and "Lần ban hành" in \
        str(caught.value.message)


def test_merged_header_cells(app):
    # Row 4 is the header (three title lines above it).
    data = list_xlsx([row()], merged=("A1:L1", "B4:C4"))
    with pytest.raises(masterlist.ListError) as caught:
        read(data)
    assert "merged cells (B4:C4)" in str(caught.value.message)


@pytest.mark.parametrize("value", ["31/02/2026", "hôm qua", "2026/13/45"])
def test_unparseable_date(app, value):
    entry = read(list_xlsx([row(effective=value)])).entries[0]
    assert "cannot be read: write it as dd/mm/yyyy" in errors(entry)


def test_date_in_the_future(app):
    entry = read(list_xlsx([row(effective="01/01/2027")])).entries[0]
    assert "01/01/2027 is in the future" in errors(entry)


def test_missing_date_and_bad_issue(app):
    entry = read(list_xlsx([row(effective="", issue="ba")])).entries[0]
    assert "No effective date" in errors(entry) and "issue “ba” cannot be read" in errors(entry)


def test_codes_with_stray_spaces_and_nbsp_are_cleaned_with_a_note(app):
    entries = read(list_xlsx([row(code=" QT-01\u00a0"),
                              row(code="\u00a0BM-01-01 ", file="BM.docx")])).entries
    assert [e.code for e in entries] == ["QT-01", "BM-01-01"]
    assert all(not e.errors for e in entries)
    assert all("stray or non-breaking spaces" in str(e.notes[0]) for e in entries)


def test_invalid_code(app):
    entry = read(list_xlsx([row(code="QT 01")])).entries[0]
    assert "may hold letters, digits" in errors(entry)


def test_duplicate_rows(app):
    entries = read(list_xlsx([row(), row()])).entries
    assert not entries[0].errors
    assert "Duplicate of row 5" in errors(entries[1])


def test_duplicate_codes_in_any_spelling(app):
    entries = read(list_xlsx([row(), row(code="qt.01", title="Khác", file="b.docx")])).entries
    assert "Duplicate code: qt.01 is also on row 6" in errors(entries[0])
    assert "Duplicate code: QT-01 is also on row 5" in errors(entries[1])


def test_file_listed_twice(app):
    entries = read(list_xlsx([row(), row(code="QT-02")])).entries
    assert not entries[0].errors
    assert "QT-01.docx is listed twice (also on row 5)" in errors(entries[1])


def test_department_by_code_or_name_and_unknown(app):
    entries = read(list_xlsx([row(dept="văn phòng"), row(code="QT-02", dept="Van Phong",
                                                          file="2.docx"),
                              row(code="QT-03", dept="Phòng Tài chính", file="3.docx")])).entries
    assert [e.department for e in entries[:2]] == ["VP", "VP"]
    assert "Unknown department “Phòng Tài chính”" in errors(entries[2])


def test_unknown_type(app):
    entry = read(list_xlsx([row(kind="Công văn")])).entries[0]
    assert "Unknown document type “Công văn”" in errors(entry)


def test_external_needs_a_source(app):
    entry = read(list_xlsx([row(kind="Tài liệu bên ngoài")])).entries[0]
    assert "needs its source" in errors(entry)


def cp1258(text: str) -> bytes:
    """Encode as Vietnamese Windows does: base letters precomposed, tones as marks."""
    tones = {"\u0300", "\u0301", "\u0303", "\u0309", "\u0323"}
    out = []
    for ch in unicodedata.normalize("NFC", text):
        try:
            out.append(ch.encode("cp1258"))
            continue
        except UnicodeEncodeError:
            pass
        parts = unicodedata.normalize("NFD", ch)
        base = unicodedata.normalize("NFC", parts[0] + "".join(
            m for m in parts[1:] if m not in tones))
        out.append((base + "".join(m for m in parts[1:] if m in tones)).encode("cp1258"))
    return b"".join(out)


def test_csv_in_windows_1258(app):
    text = list_csv([row(title="Quy trình kiểm soát tài liệu")], encoding="utf-8-sig")
    data = cp1258(text.decode("utf-8-sig"))
    listed = read(data, "list.csv")
    entry = listed.entries[0]
    assert not entry.errors, errors(entry)
    assert entry.title == "Quy trình kiểm soát tài liệu"
    assert "Windows-1258" in str(listed.notes[0])


def test_csv_with_a_bom_and_semicolons(app):
    data = list_csv([row()], encoding="utf-8-sig")
    assert data.startswith(b"\xef\xbb\xbf")
    entry = read(data, "list.csv").entries[0]
    assert not entry.errors and entry.code == "QT-01"
    semicolons = data.decode("utf-8-sig").replace(",", ";").encode()
    assert read(semicolons, "list.csv").entries[0].code == "QT-01"


def test_unreadable_list(app):
    with pytest.raises(masterlist.ListError) as caught:
        read(b"PK\x03\x04 not really a workbook", "list.xlsx")
    assert "cannot be read" in str(caught.value.message)


def test_no_header_row(app):
    with pytest.raises(masterlist.ListError) as caught:
        read(list_xlsx([], header=["a", "b"]))
    assert "No header row" in str(caught.value.message)


# Through the dry run: what needs the folder or the database.

def test_unknown_parent_and_unreadable_file(users, tmp_path):
    rows = agency_rows(procedures=1, forms_each=1)
    rows[2][8] = "QT-99"
    folder = write_agency(tmp_path / "a", rows)
    (folder / "STCL.docx").write_bytes(b"this is not a word file")
    plan = importing.dry_run(users["controller"], importsource.from_folder(str(folder)))
    by_code = {r.code: r for r in plan.rows}
    assert by_code["BM-01-01"].action == "error"
    assert "Unknown parent QT-99" in by_code["BM-01-01"].message
    assert by_code["STCL"].action == "error"
    assert "The file cannot be imported" in by_code["STCL"].message
    assert by_code["QT-01"].action == "import"


def test_list_level_error_is_one_row(users, tmp_path):
    header = [h for h in HEADER if h != "Tên tệp"]
    folder = write_agency(tmp_path / "a", agency_rows(1, 0),
                          list_bytes=list_xlsx([r[:9] + r[10:] for r in agency_rows(1, 0)],
                                               header=header))
    plan = importing.dry_run(users["controller"], importsource.from_folder(str(folder)))
    # Without the file column the list is not recognised as the master list at all, or is
    # refused for the missing column: either way one named error, nothing to import.
    assert [r.action for r in plan.rows] == ["error"]
    assert plan.rows[0].message
