"""Disagreements between the file and the register become warnings a secretary can read."""

from datetime import date

import pytest
from flask import session
from flask_babel import force_locale, refresh

from docctl.office.printed import Printed, read_printed
from docctl.services import printed as printed_service
from docctl.services.printed import as_json, check, from_json
from tests.fixtures import printed_docs as docs

REGISTER = {"code": "QT-05", "issue": 3, "amendment": 0, "effective_date": date(2024, 2, 1)}


@pytest.fixture
def database_url(tmp_path):
    # The check touches no table: one database kind is enough here.
    return f"sqlite:///{tmp_path / 'docctl.sqlite'}"


def _check(printed: Printed, lang: str, **register) -> list[str]:
    with force_locale(lang):
        return check(printed, **{**REGISTER, **register})


def test_agreement_gives_no_warning(app):
    printed = Printed(code="QT-05", issue=3, amendment=0, effective_date=date(2024, 2, 1))
    assert _check(printed, "vi") == []


@pytest.mark.parametrize("spelling", ["qt05", "QT 05", "qt.05", "QT-05", " QT\u00a005 ", "Qt_05"])
def test_a_code_spelled_otherwise_is_the_same_code(app, spelling):
    assert _check(Printed(code=spelling), "en") == []


def test_nothing_found_gives_no_warning(app):
    assert _check(Printed(), "vi") == []
    # A number the file does not print is no disagreement either.
    assert _check(Printed(issue=3), "vi", amendment=4) == []


def test_each_disagreement_in_vietnamese(app):
    printed = Printed(code="QT-06", issue=1, amendment=2, effective_date=date(2024, 1, 15))
    assert _check(printed, "vi") == [
        "Tệp ghi Mã hiệu QT-06, sổ đăng ký ghi QT-05",
        "Tệp ghi Lần ban hành 01, sổ đăng ký ghi 03",
        "Tệp ghi Lần sửa đổi 02, sổ đăng ký ghi 00",
        "Tệp ghi Ngày hiệu lực 15/01/2024, sổ đăng ký ghi 01/02/2024",
    ]


def test_each_disagreement_in_english(app):
    printed = Printed(code="QT-06", issue=1, amendment=2, effective_date=date(2024, 1, 15))
    assert _check(printed, "en") == [
        "The file prints code QT-06; the register says QT-05",
        "The file prints issue 01; the register says 03",
        "The file prints amendment 02; the register says 00",
        "The file prints effective date 15/01/2024; the register says 01/02/2024",
    ]


def test_no_effective_date_in_the_register_is_not_compared(app):
    assert _check(Printed(effective_date=date(2024, 1, 15)), "en", effective_date=None) == []


def test_the_issue_example_of_the_issue(app):
    # Issue #10's own words: the file prints 03, the register says 01.
    printed = read_printed("docx", docs.header_table())
    assert _check(printed, "vi", issue=1) == ["Tệp ghi Lần ban hành 03, sổ đăng ký ghi 01"]
    assert _check(printed, "en", issue=1) == ["The file prints issue 03; the register says 01"]


def test_the_language_follows_the_request(app):
    # The fixture's app context outlives these requests; refresh() drops babel's cached locale.
    printed = Printed(issue=3)
    with app.test_request_context("/"):
        session["lang"] = "en"
        refresh()
        assert check(printed, code="QT-05", issue=1, amendment=0) == [
            "The file prints issue 03; the register says 01"]
    with app.test_request_context("/"):
        refresh()
        assert check(printed, code="QT-05", issue=1, amendment=0) == [
            "Tệp ghi Lần ban hành 03, sổ đăng ký ghi 01"]


def test_as_json_keeps_its_shape_and_reads_back():
    printed = Printed(code="PGL-TT21-BM02a", issue=2, amendment=1, issued_on=date(2024, 1, 26),
                      effective_date=date(2024, 2, 1), number=None)
    data = as_json(printed, ["w1"])
    assert data == {"code": "PGL-TT21-BM02a", "issue": 2, "amendment": 1,
                    "issued_on": "2024-01-26", "effective_date": "2024-02-01",
                    "number": None, "warnings": ["w1"]}
    assert from_json(data) == printed
    assert as_json(Printed(), [])["effective_date"] is None


@pytest.mark.parametrize("stored", [None, {}, [], "x", {"issue": "03", "issued_on": "26/01/2024",
                                                        "amendment": True, "code": ""}])
def test_from_json_of_odd_stored_values(stored):
    assert printed_service.from_json(stored) == Printed()
