"""Departments: created by an administrator, codes kept as typed and unique whatever their case."""

import pytest
from sqlalchemy import select

from docctl.errors import Conflict, Forbidden, ValidationError
from docctl.models import AuditEvent, Department
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
