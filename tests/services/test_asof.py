"""As of a day: the revision in force, across supersessions, a withdrawal and a future date."""

from datetime import UTC, date, datetime, timedelta

import pytest

from docctl.domain.lifecycle import CONTROLLED
from docctl.errors import Forbidden, NotFound, ValidationError
from docctl.models import Document
from docctl.services import asof, documents, publishing
from docctl.services.context import zone
from tests.helpers import PASSWORD, publish


def register(users, code: str, department: str = "VP", doc_type: str = "procedure"):
    documents.register_document(users["controller"], {
        "type": doc_type, "title": f"Tài liệu {code}", "department": department,
        "code": code})


@pytest.fixture
def history(clock, users):
    """QT-01: r1 05/01, r2 10/02, r3 approved 01/03 for 01/04. QT-02: r1, withdrawn 20/02."""
    clock.moment = datetime(2026, 1, 5, 3, 0, tzinfo=UTC)        # 10:00 in Hà Nội
    register(users, "QT-01")
    register(users, "QT-02", department="QLKH")
    register(users, "QT-03")                                        # never published
    register(users, "HD-01", doc_type="instruction")
    publish(users, "QT-01", text="một")
    publish(users, "QT-02", text="một")
    clock.moment = datetime(2026, 1, 20, 3, 0, tzinfo=UTC)
    publish(users, "HD-01", text="hướng dẫn")
    clock.moment = datetime(2026, 2, 10, 3, 0, tzinfo=UTC)
    publish(users, "QT-01", text="hai", reason="Sửa đổi lần 1")
    # 17:30 UTC on 19/02 is 00:30 on 20/02 in Hà Nội: withdrawn on the 20th, local time.
    clock.moment = datetime(2026, 2, 19, 17, 30, tzinfo=UTC)
    publishing.withdraw(users["controller"], "QT-02", reason="Bãi bỏ", password=PASSWORD)
    clock.moment = datetime(2026, 3, 1, 3, 0, tzinfo=UTC)
    publish(users, "QT-01", text="ba", reason="Sửa đổi lần 2", effective=date(2026, 4, 1))
    return clock


def number(user, code, day):
    revision = asof.revision_as_of(user, code, day)
    return revision.number if revision else None


EXPECTED = [
    (date(2026, 1, 4), {"QT-01": None, "QT-02": None, "HD-01": None}),
    (date(2026, 1, 5), {"QT-01": 1, "QT-02": 1, "HD-01": None}),
    (date(2026, 2, 9), {"QT-01": 1, "QT-02": 1, "HD-01": 1}),
    (date(2026, 2, 10), {"QT-01": 2, "QT-02": 1, "HD-01": 1}),
    (date(2026, 2, 19), {"QT-01": 2, "QT-02": 1, "HD-01": 1}),
    (date(2026, 2, 20), {"QT-01": 2, "QT-02": None, "HD-01": 1}),
    (date(2026, 3, 31), {"QT-01": 2, "QT-02": None, "HD-01": 1}),
    (date(2026, 4, 1), {"QT-01": 3, "QT-02": None, "HD-01": 1}),   # future: will be in force
    (date(2031, 1, 1), {"QT-01": 3, "QT-02": None, "HD-01": 1}),
]


def check_timeline(user):
    for day, expected in EXPECTED:
        got = {code: number(user, code, day) for code in expected}
        assert got == expected, day
        assert number(user, "QT-03", day) is None
        rows, total = asof.register_as_of(user, day)
        assert total == sum(1 for n in expected.values() if n)
        assert {(d.code, r.number) for d, r in rows} == {
            (code, n) for code, n in expected.items() if n}


def test_as_of_follows_supersessions_withdrawal_and_future_dates(app, users, history):
    check_timeline(users["auditor"])
    assert documents.get_revision(users["auditor"], "QT-01", 3).status == "approved"


def test_answers_do_not_change_when_the_future_arrives(app, users, history):
    history.moment = datetime(2026, 4, 2, 3, 0, tzinfo=UTC)
    assert publishing.take_effect_due() == 1
    assert documents.get_revision(users["auditor"], "QT-01", 2).status == "superseded"
    check_timeline(users["controller"])


def test_register_lists_in_iso_order_and_filters(app, users, history):
    rows, total = asof.register_as_of(users["auditor"], date(2026, 2, 15))
    assert [(d.code, r.number) for d, r in rows] == [("QT-01", 2), ("QT-02", 1),
                                                       ("HD-01", 1)]
    assert total == 3
    rows, total = asof.register_as_of(users["auditor"], date(2026, 2, 15),
                                      department="QLKH")
    assert [(d.code, total) for d, _ in rows] == [("QT-02", 1)]
    rows, total = asof.register_as_of(users["auditor"], date(2026, 2, 15),
                                      doc_type="instruction")
    assert [d.code for d, _ in rows] == ["HD-01"] and total == 1
    page2, total = asof.register_as_of(users["auditor"], date(2026, 2, 15), page=2,
                                       per_page=2)
    assert [d.code for d, _ in page2] == ["HD-01"] and total == 3


def test_as_of_is_for_controllers_and_auditors_only(app, users, history):
    for who in ("staff", "reviewer", "approver"):
        with pytest.raises(Forbidden):
            asof.register_as_of(users[who], date(2026, 2, 15))
        with pytest.raises(Forbidden):
            asof.revision_as_of(users[who], "QT-01", date(2026, 2, 15))
    for who in ("auditor", "controller", "admin"):
        assert number(users[who], "QT-01", date(2026, 2, 15)) == 2


def test_bad_input(app, users, history):
    with pytest.raises(NotFound):
        asof.revision_as_of(users["auditor"], "QT-99", date(2026, 2, 15))
    with pytest.raises(ValidationError):
        asof.register_as_of(users["auditor"], "2026-02-15")
    with pytest.raises(ValidationError):
        asof.revision_as_of(users["auditor"], "QT-01", datetime(2026, 2, 15, tzinfo=UTC))
    assert number(users["auditor"], "qt-01", date(2026, 2, 15)) == 2   # codes normalised


def _oracle(document: Document, day: date) -> int | None:
    """The rule of the issue, written the slow obvious way."""
    if document.withdrawn_at and document.withdrawn_at.astimezone(zone()).date() <= day:
        return None
    candidates = [r.number for r in document.revisions
                  if r.status in CONTROLLED and r.effective_date and r.effective_date <= day]
    return max(candidates, default=None)


def test_sql_agrees_with_the_rule_on_every_day(app, db, users, history):
    documents_ = db.session.query(Document).all()
    day = date(2026, 1, 1)
    while day <= date(2026, 4, 10):
        for document in documents_:
            assert number(users["auditor"], document.code, day) == _oracle(document, day), \
                (document.code, day)
        day += timedelta(days=1)
