"""What a document prints about itself is read from where agencies print it, and only there."""

from __future__ import annotations

import io
import zipfile
from datetime import date
from pathlib import Path

import pytest

from docctl.office.printed import Printed, read_printed
from tests.fixtures import printed_docs as docs

CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "corpus"


def _part(data: bytes, name: str) -> str:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return zf.read(name).decode("utf-8")


def _headers(data: bytes) -> dict[str, str]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return {n: zf.read(n).decode("utf-8") for n in zf.namelist()
                if n.startswith("word/header")}


# --- letterhead shapes -------------------------------------------------------------------------

SHAPES = {
    "header_table": Printed(code="QT-05", issue=3, effective_date=date(2024, 2, 1)),
    "header_text_box": Printed(code="PGL-TT21-BM02a", issue=2, amendment=1,
                               issued_on=date(2024, 1, 26)),
    "body_text_box": Printed(code="HD-03", issue=2, amendment=1,
                             effective_date=date(2024, 4, 10)),
    "decree30": Printed(number="3494/QĐ-UBND", issued_on=date(2024, 3, 5),
                        effective_date=date(2024, 3, 15)),
    "first_page_header": Printed(code="QT-07", issue=2, effective_date=date(2024, 3, 15)),
    "odd_even_headers": Printed(code="HD-03", issue=4, amendment=2),
    "first_table_only": Printed(code="BM.01.02", issue=3, amendment=1,
                                effective_date=date(2024, 2, 1)),
    "first_page_text": Printed(code="QT-ĐT-03", issue=3, amendment=1,
                               effective_date=date(2024, 1, 26)),
    # Split runs and a non-breaking hyphen; page 2's "Ngày hiệu lực" is not page 1's.
    "word_runs": Printed(code="QT-01", issue=4),
    # Footer "QT-08 | Lần ban hành: 01 | Ngày ban hành": a code without a label is not guessed.
    "footer_only": Printed(issue=1, issued_on=date(2025, 1, 2)),
}


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_letterhead_shapes(shape):
    assert read_printed("docx", getattr(docs, shape)()) == SHAPES[shape]


def test_the_fixtures_have_the_shapes_they_claim():
    table = docs.header_table()
    header = "".join(_headers(table).values())
    assert "<w:tbl>" in header and "<pic:pic" in header and "Mã số thuế" in header
    assert "NUMPAGES" in header            # the page number is a field, cached "1/12"

    box = "".join(_headers(docs.header_text_box()).values())
    assert "<mc:AlternateContent>" in box and "<wps:txbx>" in box and "<v:textbox>" in box
    assert box.count("PGL-TT21-BM02a") == 2   # stored twice, as Word does

    first = docs.first_page_header()
    assert docs.has_title_pg(first)
    assert 'w:type="first"' in _part(first, "word/document.xml")

    odd_even = docs.odd_even_headers()
    assert "<w:evenAndOddHeaders" in _part(odd_even, "word/settings.xml")
    assert 'w:type="even"' in _part(odd_even, "word/document.xml")

    runs = "".join(_headers(docs.word_runs()).values())
    assert "<w:noBreakHyphen/>" in runs and "<w:proofErr" in runs
    assert "<w:lastRenderedPageBreak/>" in _part(docs.word_runs(), "word/document.xml")

    assert not _headers(docs.first_table_only()) or all(
        "Lần" not in xml for xml in _headers(docs.first_table_only()).values())


def test_a_text_box_is_read_from_one_branch_only():
    # Word's fallback normally repeats the choice; when they differ the choice wins.
    stale = docs.header_text_box(fallback=["Mã số: X-99", "Lần ban hành: 09"])
    assert read_printed("docx", stale).code == "PGL-TT21-BM02a"
    assert read_printed("docx", stale).issue == 2
    # A VML-only text box (older Word) is read from the fallback.
    vml_only = docs.header_text_box(choice=False)
    assert "<wps:txbx>" not in "".join(_headers(vml_only).values())
    assert read_printed("docx", vml_only).code == "PGL-TT21-BM02a"


def test_the_first_page_header_wins_over_the_default_one():
    printed = read_printed("docx", docs.first_page_header())
    assert printed.code == "QT-07"     # the default header prints only the title


def test_page_two_and_later_tables_are_not_the_first_page():
    printed = read_printed("docx", docs.first_page_text())
    assert printed.issue == 3 and printed.code == "QT-ĐT-03"   # not page 2's 09 / QT-99
    # The history table ("Theo dõi sửa đổi") after the first table does not override it.
    assert read_printed("docx", docs.first_table_only()).issue == 3


# --- every label spelling ------------------------------------------------------------------

@pytest.mark.parametrize("line, code", [
    ("Mã hiệu: QT-01", "QT-01"),
    ("Mã số: QT-01", "QT-01"),
    ("Ký hiệu: QT-01", "QT-01"),
    ("Mã tài liệu: QT-01", "QT-01"),
    ("Số hiệu: QT.01", "QT.01"),
    ("Ma hieu QT-01", "QT-01"),
    ("MÃ HIỆU:QT-VP-01", "QT-VP-01"),
    ("Mã hiệu: STCL", "STCL"),
    ("Mã hiệu: MTCL-2025", "MTCL-2025"),
    ("Mã hiệu: BM-01-02 / Lần ban hành: 03", "BM-01-02"),
    ("Mã hiệu: BM-01-02/Lần ban hành: 03", "BM-01-02"),
    ("Mã hiệu: qt-đt-03.", "qt-đt-03"),
    ("Document code: QP-7.5-01", "QP-7.5-01"),
    ("Doc. No.: SOP-12", "SOP-12"),
])
def test_code_labels(line, code):
    assert read_printed("docx", docs.header_lines(line)).code == code


@pytest.mark.parametrize("lines", [
    ("Mã số thuế: 0101234567",),                        # the company's tax code
    ("Mã số doanh nghiệp: 0101234567",),
    ("Mã hiệu:", "Lần ban hành: 03"),                     # an empty value is no code
    ("Mã hiệu: ...",),
])
def test_what_is_not_a_code(lines):
    assert read_printed("docx", docs.header_lines(*lines)).code is None


@pytest.mark.parametrize("line, issue, amendment", [
    ("Lần ban hành: 03", 3, None),
    ("LAN BAN HANH 03", 3, None),
    ("03sđ01", 3, 1),
    ("Lần ban hành/sửa đổi: 03/01", 3, 1),
    ("Lần ban hành: 03 - Lần sửa đổi: 01", 3, 1),
    ("Lần sửa đổi: 01", None, 1),
    ("BH 03 / SĐ 01", 3, 1),
    ("Lần BH: 03", 3, None),
    ("Rev. 03", 3, None),
    ("Issue 3 Amendment 1", 3, 1),
    ("Lần ban hành: 01\tLần soát xét: 02", 1, 2),
    ("Trang: 1/12", None, None),
])
def test_issue_labels(line, issue, amendment):
    printed = read_printed("docx", docs.header_lines(line))
    assert (printed.issue, printed.amendment) == (issue, amendment)


@pytest.mark.parametrize("value", ["26/01/2024", "26/1/2024", "26-01-2024", "26.01.2024",
                                   "ngày 26 tháng 01 năm 2024", "ngay 26 thang 1 nam 2024"])
@pytest.mark.parametrize("label, field", [
    ("Ngày ban hành: ", "issued_on"), ("Ngay ban hanh ", "issued_on"),
    ("Ngày hiệu lực: ", "effective_date"), ("Ngày có hiệu lực ", "effective_date"),
    ("Hiệu lực từ ngày ", "effective_date"), ("Ngày áp dụng: ", "effective_date"),
    ("Effective date: ", "effective_date"),
])
def test_date_labels_and_formats(label, field, value):
    printed = read_printed("docx", docs.header_lines(label + value))
    assert getattr(printed, field) == date(2024, 1, 26)
    other = "effective_date" if field == "issued_on" else "issued_on"
    assert getattr(printed, other) is None


@pytest.mark.parametrize("sentence", [
    "Quyết định này có hiệu lực kể từ ngày 26/01/2024.",
    "Quyết định này có hiệu lực thi hành từ ngày 26 tháng 01 năm 2024.",
    "Quy trình này có hiệu lực từ ngày 26.01.2024",
])
def test_a_decision_states_its_effective_date_in_a_sentence(sentence):
    assert read_printed("pdf", b"", sentence).effective_date == date(2024, 1, 26)
    assert read_printed("pdf", b"", "Quyết định này có hiệu lực kể từ ngày ký.") == Printed()


def test_one_label_for_both_dates():
    printed = read_printed("docx", docs.header_lines("Ngày ban hành / Ngày hiệu lực: 26/01/2026"))
    assert printed.issued_on == printed.effective_date == date(2026, 1, 26)


@pytest.mark.parametrize("line", ["Ngày hiệu lực: 31/02/2024", "Ngày hiệu lực: 2024-01-26",
                                  "Ngày hiệu lực: 26/01/24", "26/01/2024"])
def test_impossible_or_unlabelled_dates_are_not_read(line):
    assert read_printed("docx", docs.header_lines(line)).effective_date is None


def test_labels_and_values_in_adjacent_cells_of_a_header_table():
    # First-page header: "Mã hiệu | QT-07" rows; also labels in one row above values.
    assert read_printed("docx", docs.first_page_header()).effective_date == date(2024, 3, 15)
    assert read_printed("docx", docs.first_table_only()).code == "BM.01.02"


# --- extracted text (pdf, xlsx) ----------------------------------------------------------------

def test_pdf_text_uses_the_same_grammar():
    text = ("UBND TỈNH LÀO CAI        CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM\n"
            "Số: 12/2024/QĐ-UBND      Lào Cai, ngày 05 tháng 3 năm 2024\n"
            "Mã hiệu: QT-01   Lần ban hành: 03   Lần sửa đổi: 01   Ngày hiệu lực: 01.02.2024\n"
            "\fLần ban hành: 09\n")
    assert read_printed("pdf", b"%PDF-1.7", text) == Printed(
        code="QT-01", issue=3, amendment=1, effective_date=date(2024, 2, 1),
        issued_on=date(2024, 3, 5), number="12/2024/QĐ-UBND")


def test_xlsx_text_reads_label_and_value_cells():
    text = "BIỂU MẪU\tMã số:\tBM-03-03\nLần ban hành\t02\nNgày ban hành\t15/03/2024\n"
    assert read_printed("xlsx", b"PK", text) == Printed(code="BM-03-03", issue=2,
                                                       issued_on=date(2024, 3, 15))


def test_only_the_first_page_of_text_is_read():
    filler = "\n".join(f"Dòng {n}" for n in range(80))
    assert read_printed("pdf", b"", filler + "\nLần ban hành: 05").issue is None
    assert read_printed("pdf", b"", "Lần ban hành: 05\n" + filler).issue == 5


# --- odd input ---------------------------------------------------------------------------------

@pytest.mark.parametrize("data", [
    b"", b"not a zip", b"PK\x03\x04broken", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100,
])
def test_odd_bytes_give_nothing(data):
    assert read_printed("docx", data) == Printed()
    assert not Printed().found()


def test_a_zip_that_is_not_word_gives_nothing():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("readme.txt", "Mã hiệu: QT-01")
    assert read_printed("docx", out.getvalue()) == Printed()


def test_a_docx_without_anything_falls_back_to_given_text():
    empty = docs.header_lines("Nội dung")
    assert read_printed("docx", empty) == Printed()
    assert read_printed("docx", b"garbage", "Mã hiệu: QT-02").code == "QT-02"


def test_unknown_media_and_none_text_give_nothing():
    assert read_printed("odt", b"x") == Printed()
    assert read_printed("pdf", b"x", None) == Printed()


# --- the real files of ../shared/corpus (copied into tests/fixtures/corpus) -------------------

def _corpus_files():
    return sorted(p for p in CORPUS.rglob("*") if p.suffix in (".docx", ".docm", ".dotx", ".doc"))


def test_the_corpus_is_there():
    assert len(_corpus_files()) >= 30, "tests/fixtures/corpus is missing files"


@pytest.mark.parametrize("path", _corpus_files(), ids=lambda p: p.name)
def test_corpus_files_print_no_code_issue_or_date(path):
    # None of these English/Russian/Chinese test files prints a code, an issue label or a
    # labelled date; several print things that look close ("Page 1", "2015-07-01",
    # "16 June 2010", tables of bare numbers, odd/even/first-page headers), and several are
    # damaged, encrypted or not Word at all. Each must give nothing, and never raise.
    assert read_printed("docx", path.read_bytes()) == Printed()
