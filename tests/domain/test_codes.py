"""Codes as agencies write them: the matching key, cleaning, proposals and patterns."""

import unicodedata

import pytest

from docctl.domain.numbering import prefix_for, propose_code
from docctl.domain.textfold import clean_code, code_key, code_slug, is_valid_code


@pytest.mark.parametrize("typed", ["QT-01", "qt 01", "QT01", "qt-01", "qt.01", "Qt_01",
                                   " QT\u00a0-01 "])
def test_every_spelling_has_the_same_key(typed):
    assert code_key(typed) == "qt01"


def test_key_folds_vietnamese_letters_and_keeps_the_rest():
    assert code_key("QT-ĐT-03") == "qtdt03"
    assert code_key("bm.03.03") == code_key("BM-03-03") == "bm0303"
    assert code_key("PGL-TT21-BM02a") == code_key("pgl tt21 bm02A") == "pgltt21bm02a"
    # Different codes stay different: the key drops separators, never letters or digits.
    assert code_key("BM-01-02") != code_key("BM-01-20")


def test_clean_code_keeps_case_and_separators():
    assert clean_code("  PGL-TT21-BM02a\u00a0") == "PGL-TT21-BM02a"
    assert clean_code("BM.01.02") == "BM.01.02"
    assert clean_code(unicodedata.normalize("NFD", "QT-ĐT-03")) == "QT-ĐT-03"
    assert clean_code(None) == ""
    assert is_valid_code(clean_code("PGL-TT21-BM02a"))


def test_slug_is_unchanged_for_existing_stores():
    # Existing git folders were named from the upper-cased code: the slug still is.
    assert code_slug("PGL-TT21-BM02a") == "PGL-TT21-BM02A"
    assert code_slug("QT-ĐT-03") == "QT-DT-03"


def test_first_codes_and_the_next_free_one():
    assert propose_code("procedure", []) == "QT-01"
    assert propose_code("procedure", ["QT-01", "qt.07", "QT03"]) == "QT-08"


def test_form_under_a_procedure_keeps_its_scheme_and_separator():
    assert propose_code("form", [], "QT-03") == "BM-03-01"
    assert propose_code("form", ["BM-03-01"], "QT-03") == "BM-03-02"
    assert propose_code("form", [], "QT.03") == "BM.03.01"
    assert propose_code("form", ["bm.03.01", "BM-03-02"], "QT.03") == "BM.03.03"
    assert propose_code("form", [], "QT-ĐT-03") == "BM-ĐT-03-01"


def test_form_under_a_parent_with_its_own_scheme():
    assert propose_code("form", [], "PGL-TT21") == "PGL-TT21-BM01"
    assert propose_code("form", ["PGL-TT21-BM01", "PGL-TT21-BM02a"],
                        "PGL-TT21") == "PGL-TT21-BM02"
    assert propose_code("instruction", ["PGL-TT21-HD01"], "PGL-TT21") == "PGL-TT21-HD02"


def test_a_type_without_parents_ignores_the_parent():
    assert propose_code("procedure", [], "QT-03") == "QT-01"


def test_organisation_patterns_set_the_prefix():
    patterns = {"procedure": "QTr", "form": "MB"}
    assert prefix_for("procedure", patterns) == "QTr"
    assert prefix_for("manual", patterns) == "STCL"
    assert propose_code("procedure", ["QTr-01"], patterns=patterns) == "QTr-02"
    assert propose_code("form", [], "QTr-04", patterns) == "MB-04-01"
    # A prefix ending in a separator chooses that separator.
    assert propose_code("procedure", [], patterns={"procedure": "QT."}) == "QT.01"
    assert propose_code("form", [], "PGL-TT21", {"form": "BM-"}) == "PGL-TT21-BM-01"
    # A pattern a code cannot hold falls back to the default.
    assert prefix_for("form", {"form": "B M"}) == "BM"
