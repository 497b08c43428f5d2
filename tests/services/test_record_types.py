"""Record types a procedure revision declares, and the record types in force on a day."""

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select

from docctl.errors import Conflict, Forbidden, ValidationError
from docctl.models import AuditEvent, Department
from docctl.models_records import RecordType
from docctl.services import documents, record_types
from docctl.services.record_types import RecordTypeError
from tests.services.test_forms import approve, draft, issue, register, reviewed

DAY1 = date(2026, 1, 5)
DAY2 = date(2026, 3, 2)


def declare(users, code: str, items, clock, effective: date | None = None) -> int:
    """Draft a revision of code declaring items, review and approve it; return its number."""
    number = draft(users, code)
    record_types.set_record_types(users["controller"], code, number, items)
    reviewed(users, code, number)
    approve(users, code, number, effective or clock.today())
    return number


def build_records_world(clock, users):
    """QT-05 r1 (05/01/2026) declares BM-a for 05 năm; r2 (effective 02/03/2026) declares
    BM-a for 10 năm and BM-b."""
    clock.moment = datetime(2026, 1, 5, 3, 0, tzinfo=UTC)
    register(users, "QT-05", "procedure")
    for code in ("BM-05-a", "BM-05-b"):
        register(users, code, "form", parent="QT-05")
        issue(users, code, clock)
    declare(users, "QT-05", [{"form": "BM-05-a", "keeper": "VP", "location": "Tủ hồ sơ VP",
                              "retention": "05 năm"}], clock)
    clock.moment = datetime(2026, 2, 1, 3, 0, tzinfo=UTC)
    declare(users, "QT-05", [
        {"form": "BM-05-a", "keeper": "VP", "location": "Tủ hồ sơ VP", "retention": "10 năm"},
        {"form": "bm.05.b", "keeper": "qlkh", "location": "Kho lưu trữ",
         "retention": "Vĩnh viễn", "name": "Sổ theo dõi", "visibility": "department"}],
        clock, effective=DAY2)
    return clock


@pytest.fixture
def world(clock, users):
    return build_records_world(clock, users)


def rows(day: date) -> list[tuple[str, str, str, int | None]]:
    return [(rt.form.code if rt.form else rt.name, rt.keeper.code, rt.retention,
             rt.retention_years) for rt in record_types.in_force(day)]


def test_record_types_in_force_follow_the_procedure_revision_in_force(app, users, world):
    assert rows(DAY1) == [("BM-05-a", "VP", "05 năm", 5)]
    assert rows(date(2026, 3, 1)) == [("BM-05-a", "VP", "05 năm", 5)]
    assert rows(DAY2) == [("BM-05-a", "VP", "10 năm", 10), ("BM-05-b", "QLKH", "Vĩnh viễn",
                                                               None)]
    assert rows(date(2026, 1, 4)) == []
    bm_a, bm_b = documents.find_by_code("BM-05-a"), documents.find_by_code("BM-05-b")
    assert record_types.for_form(bm_a, DAY1).retention == "05 năm"
    assert record_types.for_form(bm_a, DAY2).retention == "10 năm"
    assert record_types.for_form(bm_b, DAY1) is None
    found = record_types.for_form(bm_b, DAY2)
    assert (found.name, found.visibility, found.form_revision) == ("Sổ theo dõi", "department", 1)
    assert record_types.get(found.id) is found
    assert record_types.revision_of(found).number == 2
    listed = record_types.in_force_with_procedures(DAY2)
    assert [(d.code, r.number) for _rt, d, r in listed] == [("QT-05", 2), ("QT-05", 2)]


def test_a_revision_that_declares_nothing_new_keeps_the_records_of_the_one_before(
        app, users, world):
    clock = world
    clock.moment = datetime(2026, 3, 10, 3, 0, tzinfo=UTC)
    number = draft(users, "QT-05")
    revision = documents.get_revision(users["controller"], "QT-05", number)
    assert [rt.retention for rt in record_types.record_types_of(revision)] == ["10 năm",
                                                                              "Vĩnh viễn"]
    reviewed(users, "QT-05", number)
    approve(users, "QT-05", number, clock.today())
    assert rows(clock.today()) == rows(DAY2)
    # An empty list is a choice: the next revision declares no records.
    empty = draft(users, "QT-05")
    record_types.set_record_types(users["controller"], "QT-05", empty, [])
    assert record_types.record_types_of(documents.get_revision(
        users["controller"], "QT-05", empty)) == []
    reviewed(users, "QT-05", empty)
    approve(users, "QT-05", empty, clock.today())
    assert rows(clock.today()) == []
    assert rows(DAY2) != []   # the past stays as it was


def test_saving_records_an_audit_event_with_before_and_after(app, users, world):
    events = AuditEvent.query.filter_by(action="record_types_set", document_code="QT-05").all()
    assert [e.revision_number for e in events] == [1, 2]
    assert "10 năm" in events[1].details and "05 năm" in events[1].details


def test_form_revision_defaults_to_the_one_in_force_and_may_be_named(app, users, world):
    number = draft(users, "QT-05")
    saved = record_types.set_record_types(users["controller"], "QT-05", number, [
        {"form": "BM-05-a", "form_revision": 1, "keeper": "VP", "retention": "05 năm kể từ "
         "khi kết thúc hồ sơ"},
        {"name": "Biên bản họp", "keeper": "VP", "retention": "Đến khi hết hiệu lực + 01 năm"}])
    assert [(rt.form_revision, rt.retention_from, rt.retention_event) for rt in saved] == [
        (1, "event", "khi kết thúc hồ sơ"), (None, "expiry", "Đến khi hết hiệu lực + 01 năm")]
    assert saved[1].form_id is None and saved[1].name == "Biên bản họp"


BAD = [
    ("x", ValidationError, "record_types"),
    ([1], ValidationError, "record_types[0].record"),
    ([{"form": "BM-05-a", "keeper": "VP", "retention": "05 năm", "colour": "red"}],
     ValidationError, "record_types[0].colour"),
    ([{"keeper": "VP", "retention": "05 năm"}], ValidationError, "record_types[0].form"),
    ([{"form": "BM-99-99", "keeper": "VP", "retention": "05 năm"}], RecordTypeError,
     "record_types[0].form"),
    ([{"form": "QT-05", "keeper": "VP", "retention": "05 năm"}], RecordTypeError,
     "record_types[0].form"),
    ([{"form": "BM-05-a", "keeper": "VP", "retention": "05 năm"},
      {"form": "BM-05-a", "keeper": "QLKH", "retention": "05 năm"}], RecordTypeError,
     "record_types[1].form"),
    ([{"form": "BM-05-a", "form_revision": 7, "keeper": "VP", "retention": "05 năm"}],
     RecordTypeError, "record_types[0].form_revision"),
    ([{"form": "BM-05-a", "form_revision": "1", "keeper": "VP", "retention": "05 năm"}],
     ValidationError, "record_types[0].form_revision"),
    ([{"form": "BM-05-a", "keeper": "XX", "retention": "05 năm"}], RecordTypeError,
     "record_types[0].keeper"),
    ([{"form": "BM-05-a", "retention": "05 năm"}], ValidationError, "record_types[0].keeper"),
    ([{"form": "BM-05-a", "keeper": "VP", "retention": "mãi mãi"}], RecordTypeError,
     "record_types[0].retention"),
    ([{"form": "BM-05-a", "keeper": "VP", "retention": "500 năm"}], RecordTypeError,
     "record_types[0].retention"),
    ([{"form": "BM-05-a", "keeper": "VP"}], ValidationError, "record_types[0].retention"),
    ([{"form": "BM-05-a", "keeper": "VP", "retention": "05 năm", "visibility": "all"}],
     RecordTypeError, "record_types[0].visibility"),
    ([{"form": "BM-05-a", "keeper": "VP", "retention": "05 năm", "location": "x" * 301}],
     ValidationError, "record_types[0].location"),
]


@pytest.mark.parametrize("items, kind, field", BAD)
def test_bad_rows_are_refused_naming_the_row_and_field_and_nothing_is_saved(
        app, db, users, world, items, kind, field):
    number = draft(users, "QT-05")
    count = db.session.scalar(select(func.count()).select_from(RecordType))
    events = AuditEvent.query.count()
    with pytest.raises(kind) as caught:
        record_types.set_record_types(users["controller"], "QT-05", number, items)
    assert caught.value.details["field"] == field
    assert str(caught.value.message)
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(RecordType)) == count
    assert AuditEvent.query.count() == events


def test_an_inactive_keeper_is_refused(app, db, users, world):
    db.session.execute(Department.__table__.update().where(Department.code == "QLKH")
                       .values(active=False))
    db.session.commit()
    number = draft(users, "QT-05")
    with pytest.raises(RecordTypeError) as caught:
        record_types.set_record_types(users["controller"], "QT-05", number, [
            {"form": "BM-05-a", "keeper": "QLKH", "retention": "05 năm"}])
    assert "QLKH" in str(caught.value.message)


def test_only_the_secretary_sets_records_and_only_on_a_draft_of_a_procedure(
        app, users, world):
    number = draft(users, "QT-05")
    item = [{"form": "BM-05-a", "keeper": "VP", "retention": "05 năm"}]
    for role in ("staff", "auditor", "reviewer", "approver"):
        with pytest.raises(Forbidden):
            record_types.set_record_types(users[role], "QT-05", number, item)
    with pytest.raises(Conflict):
        record_types.set_record_types(users["controller"], "QT-05", 1, item)
    with pytest.raises(ValidationError):
        record_types.set_record_types(users["controller"], "BM-05-a", 1, item)


def test_revision_json_in_git_lists_the_records(app, users, world):
    import json

    from tests.services.test_releases import git
    revision = documents.get_revision(users["controller"], "QT-05", 2)
    facts = json.loads(git(app, "show", f"{revision.commit_sha}:documents/QT/QT-05/revision.json"))
    assert facts["records"] == [
        {"form": "BM-05-a", "form_revision": 1, "name": "", "keeper": "VP",
         "location": "Tủ hồ sơ VP", "retention": "10 năm"},
        {"form": "BM-05-b", "form_revision": 1, "name": "Sổ theo dõi", "keeper": "QLKH",
         "location": "Kho lưu trữ", "retention": "Vĩnh viễn"}]
