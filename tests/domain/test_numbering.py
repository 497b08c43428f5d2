import pytest

from docctl.domain.numbering import parent_allowed, propose_code, revision_label


def test_first_code_of_each_type():
    assert propose_code("procedure", []) == "QT-01"
    assert propose_code("form", []) == "BM-01"
    assert propose_code("manual", []) == "STCL-01"


def test_next_code_after_the_highest():
    assert propose_code("procedure", ["QT-01", "QT-07", "QT-03"]) == "QT-08"


def test_form_under_procedure():
    assert propose_code("form", ["BM-01-01"], "QT-01") == "BM-01-02"
    assert propose_code("form", ["BM-01-01", "BM-02-01"], "QT-02") == "BM-02-02"


def test_proposal_skips_a_taken_code_in_other_case():
    assert propose_code("procedure", ["qt-01"]) == "QT-02"


def test_revision_label_two_digits():
    assert revision_label(3) == "03"
    assert revision_label(12) == "12"


@pytest.mark.parametrize(("child", "parent", "ok"), [
    ("form", "procedure", True), ("form", "instruction", True), ("form", "manual", False),
    ("procedure", "procedure", False), ("objective", "policy", True), ("procedure", None, True),
])
def test_parent_rules(child, parent, ok):
    assert parent_allowed(child, parent) is ok
