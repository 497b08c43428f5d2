"""Forms move with their procedure: lists per revision, checks at approval and in a release,
and the forms in force with a procedure on a day."""

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select

from docctl.errors import Conflict, NotFound, ValidationError
from docctl.models import AuditEvent, Release, ReleaseItem, Revision, RevisionForm
from docctl.services import asof, documents, forms, publishing, reviews
from docctl.services.forms import FormChoiceError
from tests.helpers import PASSWORD, docx_bytes


def register(users, code: str, doc_type: str, parent: str | None = None) -> None:
    documents.register_document(users["controller"], {
        "type": doc_type, "title": f"Tài liệu {code}", "department": "VP", "code": code,
        "parent": parent})


def draft(users, code: str, reason: str = "Sửa đổi") -> int:
    """Upload a draft of code; return its number."""
    return documents.upload_revision(users["controller"], code, filename=f"{code}.docx",
                                     data=docx_bytes(f"nội dung {code}", code),
                                     reason=reason, change="reissue").number


def reviewed(users, code: str, number: int) -> None:
    reviews.submit(users["controller"], code, number, reviewers=["reviewer"],
                   approver="approver", reason="Sửa đổi")
    reviews.review(users["reviewer"], code, number, decision="accept", comment="ok")


def approve(users, code: str, number: int, effective: date, password: str = PASSWORD):
    return publishing.approve(users["approver"], code, number, password=password,
                              effective_date=effective)


def issue(users, code: str, clock, items=None) -> int:
    """Draft, (list forms,) review and approve a revision effective today; return its number."""
    number = draft(users, code)
    if items is not None:
        forms.set_forms(users["controller"], code, number, items)
    reviewed(users, code, number)
    approve(users, code, number, clock.today())
    return number


def listed(code: str, number: int) -> list[tuple[str, int]]:
    revision = documents.find_by_code(code).revisions[number - 1]
    return [(form.code, n) for form, n, _label in forms.forms_of(revision)]


def codes_in_force(code: str, day: date | None = None) -> list[tuple[str, int]]:
    return [(d.code, r.number) for d, r in forms.in_force_with(documents.find_by_code(code),
                                                                 day)]


def build_world(clock, users):
    """05/01/2026: BM-01-01 r1 and BM-01-02 r1 in force; QT-01 r1 lists both at r1.
    BM-01-03 (under QT-01) is in force too but QT-01 does not list it."""
    clock.moment = datetime(2026, 1, 5, 3, 0, tzinfo=UTC)
    register(users, "QT-01", "procedure")
    register(users, "QT-02", "procedure")
    for code in ("BM-01-01", "BM-01-02", "BM-01-03"):
        register(users, code, "form", parent="QT-01")
        issue(users, code, clock)
    issue(users, "QT-01", clock, [{"code": "BM-01-01", "revision": 1},
                                  {"code": "BM-01-02", "revision": 1}])
    return clock


@pytest.fixture
def world(clock, users):
    return build_world(clock, users)


def test_forms_are_set_and_read_back_with_labels_and_an_audit_event(app, users, world):
    assert listed("QT-01", 1) == [("BM-01-01", 1), ("BM-01-02", 1)]
    revision = documents.find_by_code("QT-01").revisions[0]
    assert [label for _f, _n, label in forms.forms_of(revision)] == ["01", "01"]
    event = AuditEvent.query.filter_by(action="forms_set", document_code="QT-01").one()
    assert event.revision_number == 1 and "BM-01-02" in event.details
    assert codes_in_force("QT-01") == [("BM-01-01", 1), ("BM-01-02", 1)]
    # A form knows the procedure it is in force with.
    bm = documents.find_by_code("BM-01-01")
    assert [(d.code, r.number) for d, r in forms.in_force_with(bm)] == [("QT-01", 1)]
    assert forms.in_force_with(documents.find_by_code("BM-01-03")) == []


def test_a_new_draft_starts_from_the_forms_in_force_until_the_secretary_chooses(
        app, users, world):
    number = draft(users, "QT-01")
    assert listed("QT-01", number) == [("BM-01-01", 1), ("BM-01-02", 1)]   # kept
    forms.set_forms(users["controller"], "QT-01", number, [])
    assert listed("QT-01", number) == []             # an empty choice is a choice
    assert listed("QT-01", 1) == [("BM-01-01", 1), ("BM-01-02", 1)]


def test_a_procedure_without_any_list_uses_the_forms_registered_under_it(app, users, world):
    register(users, "QT-03", "procedure")
    register(users, "BM-03-01", "form", parent="QT-03")
    issue(users, "BM-03-01", world)
    issue(users, "QT-03", world)
    assert codes_in_force("QT-03") == [("BM-03-01", 1)]


def _snapshot(db):
    rows = db.session.execute(select(RevisionForm.revision_id, RevisionForm.form_id,
                                     RevisionForm.form_revision)).all()
    return sorted(rows), db.session.scalar(select(func.count()).select_from(AuditEvent))


@pytest.mark.parametrize("items, error, words", [
    ([{"code": "BM-09-09", "revision": 1}], FormChoiceError, "BM-09-09"),
    ([{"code": "QT-02", "revision": 1}], FormChoiceError, "QT-02"),
    ([{"code": "BM-01-01", "revision": 7}], FormChoiceError, "BM-01-01"),
    ([{"code": "BM-01-01", "revision": 1}, {"code": "bm 01 01", "revision": 1}],
     FormChoiceError, "BM-01-01"),
    ([{"code": "BM-01-01"}], ValidationError, "code"),
    ([{"code": "BM-01-01", "revision": "1"}], ValidationError, "code"),
    ([{"code": "BM-01-01", "revision": 1, "extra": True}], ValidationError, "code"),
    ({"code": "BM-01-01", "revision": 1}, ValidationError, "code"),
])
def test_bad_forms_are_refused_with_a_message_and_nothing_changes(app, users, world, db, items,
                                                                  error, words):
    number = draft(users, "QT-01")
    forms.set_forms(users["controller"], "QT-01", number, [{"code": "BM-01-01", "revision": 1}])
    before = _snapshot(db)
    with pytest.raises(error) as caught:
        forms.set_forms(users["controller"], "QT-01", number, items)
    db.session.rollback()
    # Messages are translated (Vietnamese here); codes are named as they are registered.
    assert words in str(caught.value.message) or error is ValidationError
    assert caught.value.details["field"] == "forms" and str(caught.value.message)
    assert caught.value.status == (422 if error is FormChoiceError else 400)
    assert _snapshot(db) == before


def test_controlled_or_unknown_revisions_and_non_procedures_are_refused(app, users, world, db):
    before = _snapshot(db)
    item = [{"code": "BM-01-01", "revision": 1}]
    with pytest.raises(Conflict) as caught:
        forms.set_forms(users["controller"], "QT-01", 1, item)
    assert "QT-01" in str(caught.value.message) and caught.value.status == 409
    db.session.rollback()
    with pytest.raises(NotFound):
        forms.set_forms(users["controller"], "QT-01", 5, item)
    db.session.rollback()
    with pytest.raises(ValidationError):
        forms.set_forms(users["controller"], "BM-01-02", 1, item)
    db.session.rollback()
    with pytest.raises(Exception) as caught:
        forms.set_forms(users["staff"], "QT-01", 1, item)
    assert caught.value.status == 403
    db.session.rollback()
    assert _snapshot(db) == before


def test_approval_is_refused_while_a_form_in_force_is_left_out(app, users, world, db):
    number = draft(users, "QT-01")
    forms.set_forms(users["controller"], "QT-01", number, [{"code": "BM-01-01", "revision": 1}])
    reviewed(users, "QT-01", number)
    # The forms check comes before the signature: even a wrong password hears about the form.
    with pytest.raises(Conflict) as caught:
        approve(users, "QT-01", number, world.today(), password="wrong")
    db.session.rollback()
    assert "BM-01-02" in str(caught.value.message) and "BM-01-01" not in str(
        caught.value.message)
    assert db.session.get(Revision, documents.find_by_code("QT-01").revisions[-1].id
                          ).status == "awaiting_approval"
    # Once the form is withdrawn nothing is left pointing at the old procedure.
    publishing.withdraw(users["controller"], "BM-01-02", reason="Bãi bỏ", password=PASSWORD)
    assert approve(users, "QT-01", number, world.today()).status == "effective"
    assert codes_in_force("QT-01") == [("BM-01-01", 1)]


def test_forms_in_force_follow_the_day_when_a_form_is_revised(app, users, world):
    world.moment = datetime(2026, 2, 10, 3, 0, tzinfo=UTC)
    bm = draft(users, "BM-01-01")
    qt = draft(users, "QT-01")
    forms.set_forms(users["controller"], "QT-01", qt, [{"code": "BM-01-01", "revision": bm},
                                                       {"code": "BM-01-02", "revision": 1}])
    reviewed(users, "BM-01-01", bm)
    approve(users, "BM-01-01", bm, world.today())
    reviewed(users, "QT-01", qt)
    approve(users, "QT-01", qt, world.today())
    assert codes_in_force("QT-01", date(2026, 1, 4)) == []
    assert codes_in_force("QT-01", date(2026, 1, 20)) == [("BM-01-01", 1), ("BM-01-02", 1)]
    assert codes_in_force("QT-01", date(2026, 2, 10)) == [("BM-01-01", 2), ("BM-01-02", 1)]
    # A form abolished later is no longer in force with the procedure from that day on.
    world.moment = datetime(2026, 3, 1, 3, 0, tzinfo=UTC)
    publishing.withdraw(users["controller"], "BM-01-02", reason="Bãi bỏ", password=PASSWORD)
    assert codes_in_force("QT-01", date(2026, 2, 28)) == [("BM-01-01", 2), ("BM-01-02", 1)]
    assert codes_in_force("QT-01", date(2026, 3, 1)) == [("BM-01-01", 2)]
    # The whole page at once (the API's lists) answers as each procedure does, every day.
    for day in (date(2026, 1, 4), date(2026, 1, 20), date(2026, 2, 10), date(2026, 3, 1)):
        rows, _total = asof.register_as_of(users["auditor"], day, per_page=500)
        assert forms.in_force_with_many(rows, day) == {
            d.id: forms.in_force_with(d, day) for d, _r in rows
            if d.doc_type in forms.OWNER_TYPES}


def test_choices_show_keep_revise_and_abolish(app, users, world):
    bm = draft(users, "BM-01-01")
    qt = draft(users, "QT-01")
    forms.set_forms(users["controller"], "QT-01", qt, [{"code": "BM-01-01", "revision": bm}])
    revision = documents.find_by_code("QT-01").revisions[-1]
    got = {c.form.code: (c.current.number if c.current else None,
                         c.newer.number if c.newer else None, c.choice, c.abolish_planned)
           for c in forms.choices(revision)}
    assert got == {"BM-01-01": (1, 2, "revise", False), "BM-01-02": (1, None, "abolish", False),
                   "BM-01-03": (1, None, "abolish", False)}


def make_release(db, users, items) -> Release:
    """A draft release as plain rows: (code, revision number | "abolish")."""
    release = Release(title="Ban hành bộ quy trình", decision_number="3494/QĐ-UBND",
                      decision_key="3494/QD-UBND", slug="3494-QD-UBND",
                      decision_date=date(2026, 1, 5), signer="Chủ tịch",
                      effective_date=date(2026, 1, 6), created_by_id=users["controller"].id)
    db.session.add(release)
    db.session.flush()
    for code, what in items:
        document = documents.find_by_code(code)
        revision = None if what == "abolish" else document.revisions[what - 1]
        db.session.add(ReleaseItem(release_id=release.id, document_id=document.id,
                                   revision_id=revision.id if revision else None,
                                   action="abolish" if what == "abolish" else "issue"))
    db.session.commit()
    db.session.refresh(release)
    return release


def test_release_problems_name_each_form_left_behind(app, users, world, db):
    bm = draft(users, "BM-01-01")
    qt = draft(users, "QT-01")
    forms.set_forms(users["controller"], "QT-01", qt, [{"code": "BM-01-01", "revision": bm}])
    problems = forms.release_problems(make_release(db, users, [("QT-01", qt)]))
    assert len(problems) == 2
    assert any("BM-01-01" in p and "QT-01" in p for p in problems)   # r2 not issued
    assert any("BM-01-02" in p and "QT-01" in p for p in problems)   # left out, not abolished


def test_a_release_that_accounts_for_every_form_has_no_problems(app, users, world, db):
    bm = draft(users, "BM-01-01")
    qt = draft(users, "QT-01")
    forms.set_forms(users["controller"], "QT-01", qt, [{"code": "BM-01-01", "revision": bm}])
    release = make_release(db, users, [("QT-01", qt), ("BM-01-01", bm),
                                       ("BM-01-02", "abolish")])
    assert forms.release_problems(release) == []
    # The approval check accepts a form a release to come abolishes.
    reviewed(users, "QT-01", qt)
    assert forms.check_before_approve(documents.find_by_code("QT-01").revisions[-1]) is None


def test_abolishing_a_procedure_names_the_forms_that_would_stay(app, users, world, db):
    problems = forms.release_problems(make_release(db, users, [("QT-01", "abolish"),
                                                               ("BM-01-01", "abolish")]))
    assert len(problems) == 1 and "QT-01" in problems[0] and "BM-01-02" in problems[0]
    assert "BM-01-01," not in problems[0]


def test_a_release_listing_a_form_it_abolishes_is_refused(app, users, world, db):
    qt = draft(users, "QT-01")
    problems = forms.release_problems(make_release(db, users, [("QT-01", qt),
                                                               ("BM-01-02", "abolish")]))
    assert len(problems) == 1 and "BM-01-02" in problems[0]
