"""Departments: created by an administrator, codes kept as typed and unique whatever their case."""

import pytest
from sqlalchemy import select

from docctl.errors import Conflict, Forbidden, ValidationError
from docctl.models import AuditEvent, Department, Document
from docctl.services import departments


def test_an_administrator_creates_a_department_kept_as_typed_and_audited(db, users):
    made = departments.create_department(users["admin"], code="QT-ĐT", name="  Phòng Đào tạo ")
    assert (made.code, made.name) == ("QT-ĐT", "Phòng Đào tạo")
    entry = db.session.scalar(select(AuditEvent).where(
        AuditEvent.action == "department_created"))
    assert entry.actor_name == users["admin"].display_name and "QT-ĐT" in entry.details


@pytest.mark.parametrize("code", ["vp", "Vp", "qlkh"])
def test_a_code_differing_only_in_case_is_the_same_department(db, users, code):
    with pytest.raises(Conflict):
        departments.create_department(users["admin"], code=code, name="Trùng")
    assert db.session.scalar(select(Department).where(Department.code == code)) is None


@pytest.mark.parametrize("code, name, field", [
    ("", "Văn phòng", "code"), ("V P", "Văn phòng", "code"), ("--x", "Văn phòng", "code"),
    ("A" * 21, "Văn phòng", "code"), ("V\u202eP", "Văn phòng", "code"), ("VP2", "   ", "name"),
])
def test_bad_input_is_refused_naming_the_field(db, users, code, name, field):
    before = db.session.scalar(select(db.func.count(Department.id)))
    with pytest.raises(ValidationError) as refused:
        departments.create_department(users["admin"], code=code, name=name)
    assert refused.value.details["field"] == field
    assert db.session.scalar(select(db.func.count(Department.id))) == before


@pytest.mark.parametrize("role", ["controller", "staff", "auditor", "approver"])
def test_only_administrators_create_departments(db, users, role):
    with pytest.raises(Forbidden):
        departments.create_department(users[role], code="KHTC", name="Phòng Kế hoạch")


def test_rename_and_english_name_are_audited(db, users):
    departments.update_department(users["admin"], "vp", name="Văn phòng Sở",
                                  name_en="Office")
    office = departments.get("VP")
    assert (office.name, office.name_en, office.active) == ("Văn phòng Sở", "Office", True)
    entry = db.session.scalar(select(AuditEvent).where(
        AuditEvent.action == "department_renamed"))
    assert "Văn phòng Sở" in entry.details


def test_a_code_is_found_whatever_its_case_or_separators(db, users):
    departments.create_department(users["admin"], code="P.KHTC", name="Phòng Kế hoạch")
    assert departments.get("p-khtc").code == "P.KHTC"
    assert departments.get("pkhtc").code == "P.KHTC"
    with pytest.raises(Conflict):
        departments.create_department(users["admin"], code="P_KHTC", name="Trùng")


def test_a_deactivated_department_keeps_its_documents_and_is_refused_for_new_ones(
        db, users, procedure):
    from docctl.services import documents
    from docctl.services import users as users_service
    departments.update_department(users["admin"], "VP", active=False)
    entry = db.session.scalar(select(AuditEvent).where(
        AuditEvent.action == "department_deactivated"))
    assert entry is not None
    # Existing documents keep showing it.
    qt01 = db.session.scalar(select(Document).where(Document.code == "QT-01"))
    assert qt01.department.code == "VP" and not qt01.department.active
    assert "VP" not in [d.code for d in departments.list_departments(active_only=True)]
    with pytest.raises(ValidationError) as refused:
        documents.register_document(users["controller"], {
            "type": "procedure", "title": "Quy trình mới", "department": "VP"})
    assert refused.value.details["field"] == "department"
    with pytest.raises(ValidationError):
        users_service.create_user(users["admin"], username="moi", display_name="Mới",
                                  role=["staff"], password="mot mat khau du dai",
                                  department_code="VP")
    # Reactivated, it is offered again.
    departments.update_department(users["admin"], "VP", active=True)
    documents.register_document(users["controller"], {
        "type": "procedure", "title": "Quy trình mới", "department": "VP"})


@pytest.mark.parametrize("changes, field", [
    ({"name": "  "}, "name"), ({"name": 12}, "name"), ({"name_en": ["x"]}, "name_en"),
    ({"active": "no"}, "active"),
])
def test_bad_changes_are_refused_and_nothing_changes(db, users, changes, field):
    with pytest.raises(ValidationError) as refused:
        departments.update_department(users["admin"], "VP", **changes)
    assert refused.value.details["field"] == field
    db.session.rollback()
    office = departments.get("VP")
    assert (office.name, office.active) == ("Văn phòng", True)


def test_only_administrators_change_departments(db, users):
    with pytest.raises(Forbidden):
        departments.update_department(users["controller"], "VP", active=False)


def test_a_refused_rename_leaves_nothing_set_even_before_rollback(db, users):
    with pytest.raises(ValidationError):
        departments.update_department(users["admin"], "VP", name="Tên mới", name_en=7)
    office = departments.get("VP")
    assert office.name == "Văn phòng" and office not in db.session.dirty
