"""Issue/amendment labels: every printed spelling reads back; dates and page numbers never do."""

import pytest

from docctl.domain.labels import (
    Change,
    LabelFormat,
    find_numbers,
    format_label,
    next_numbers,
    parse_label,
)
from docctl.domain.textfold import fold


@pytest.mark.parametrize("text, expected", [
    # compact, standing alone
    ("03", (3, None)),
    ("3", (3, None)),
    ("03.01", (3, 1)),
    ("03/01", (3, 1)),
    ("03-01", (3, 1)),
    ("03sđ01", (3, 1)),
    ("03 SĐ 01", (3, 1)),
    ("03SD01", (3, 1)),
    (" 03 ", (3, None)),
    # spelled out, with and without diacritics, colon or not
    ("Lần ban hành: 03", (3, None)),
    ("LẦN BAN HÀNH:03", (3, None)),
    ("Lan ban hanh 03", (3, None)),
    ("Lần ban hành thứ 3", (3, None)),
    ("Ban hành lần: 02", (2, None)),
    ("Lần ban hành: 03 - Lần sửa đổi: 01", (3, 1)),
    ("Lần ban hành 03, lần sửa đổi 01", (3, 1)),
    ("Lần ban hành: 03sđ01", (3, 1)),
    ("Lần ban hành: 03.01", (3, 1)),
    ("Lần ban hành/sửa đổi: 03/01", (3, 1)),
    ("Lần ban hành / Lần sửa đổi: 03 / 01", (3, 1)),
    ("Lần BH/SĐ: 02-01", (2, 1)),
    ("BH 03 / SĐ 01", (3, 1)),
    ("Lần BH: 03", (3, None)),
    ("Lần BH: 03, Lần sửa: 01", (3, 1)),
    ("Sửa đổi lần 2 - Lần ban hành 04", (4, 2)),
    # "soát xét" counts amendments
    ("Lần ban hành: 01; Lần soát xét: 02", (1, 2)),
    ("Lần ban hành: 01, Số soát xét: 00", (1, 0)),
    # English templates
    ("Rev. 03", (3, None)),
    ("Revision 2", (2, None)),
    ("Issue 3 Amendment 1", (3, 1)),
    ("Issue No.: 04", (4, None)),
    ("Issue/Amendment: 3.1", (3, 1)),
])
def test_every_spelling_reads(text, expected):
    assert parse_label(text) == expected


@pytest.mark.parametrize("text", [
    None, "", "   ", "abc", "QT-01",
    "Lần sửa: 01",                       # an amendment without its issue is no label
    "Số soát xét: 02",
    "Lần ban hành: 01/02/2024",          # a date under the wrong label
    "Ngày ban hành: 26/01/2024",
    "Issue date: 01/02/2024",
    "3/1/2024", "26.01.2024",
    "Trang: 1/12",
    "123",                                # beyond two digits
])
def test_what_is_not_a_label(text):
    assert parse_label(text) is None


@pytest.mark.parametrize("fmt", list(LabelFormat))
@pytest.mark.parametrize("issue, amendment", [(1, 0), (3, 1), (12, 7)])
def test_every_format_reads_back(fmt, issue, amendment):
    issue_read, amendment_read = parse_label(format_label(issue, amendment, fmt))
    assert issue_read == issue
    # Formats that print nothing for amendment 0 read back as "no amendment printed".
    assert (amendment_read or 0) == amendment


def test_format_label_spellings():
    assert format_label(3, 1, "sd") == "03sđ01"
    assert format_label(3, 0, "sd") == "03"
    assert format_label(3, 1, "long") == "Lần ban hành: 03 - Lần sửa đổi: 01"
    assert format_label(3, 0, "slash") == "03/00"
    assert format_label(3, 1, "unknown") == "03.01"


def test_next_numbers():
    assert next_numbers(3, 1, Change.AMENDMENT) == (3, 2)
    assert next_numbers(3, 1, Change.REISSUE) == (4, 0)


def test_find_numbers_in_a_header_full_of_other_numbers():
    header = fold("SỞ KH&CN\tMã hiệu: QT-05\nNgày hiệu lực: 01/02/2024\nLần ban hành: 03\n"
                  "Trang: 1/12")
    assert find_numbers(header) == (3, None)
    assert find_numbers(fold("Ngày ban hành: 26/01/2024\nTrang 2/7")) == (None, None)
    # An amendment printed without its issue is still an amendment.
    assert find_numbers(fold("Lần sửa đổi: 02")) == (None, 2)
    assert find_numbers(fold("Số soát xét: 02")) == (None, 2)
    # "03sđ01" needs no label around it; a bare "03/01" does (it could be anything).
    assert find_numbers(fold("QT-01\t03sđ01")) == (3, 1)
    assert find_numbers(fold("QT-01\t03/01")) == (None, None)
