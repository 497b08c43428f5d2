"""Departments: the organisation's units that own documents and people."""

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from docctl.domain.permissions import Perm
from docctl.domain.textfold import clean_line, code_key, fold, is_valid_code, nfc
from docctl.errors import Conflict, NotFound, ValidationError
from docctl.extensions import db
from docctl.models import Department, Document, User
from docctl.services import audit
from docctl.services.documents import require

CODE_MAX = 20   # the column's width
NAME_MAX = 200


def _allowed(actor: User | None) -> None:
    if actor is not None:   # None: the administrator's own command line
        require(actor, Perm.MANAGE_USERS)


def _name(value, field: str, *, required: bool) -> str | None:
    if value is not None and not isinstance(value, str):
        raise ValidationError(_l("Department name must be text"), field=field)
    shown = clean_line(value, max_len=NAME_MAX)
    if required and not shown:
        raise ValidationError(_l("Department name is required"), field=field)
    return shown or None


def _same(a: str, b: str) -> bool:
    # "vp", "VP" and "V.P" would be the same department to a person.
    return fold(a) == fold(b) or code_key(a) == code_key(b)


def find(code: str | None) -> Department | None:
    """Return the department with this code, matched case- and separator-insensitively."""
    wanted = nfc(code if isinstance(code, str) else "")
    if not wanted:
        return None
    exact = db.session.scalar(select(Department).where(Department.code == wanted))
    if exact is not None:
        return exact
    return next((d for d in db.session.scalars(select(Department)) if _same(d.code, wanted)),
                None)


def get(code: str) -> Department:
    """Return a department by code, or raise NotFound."""
    department = find(code)
    if department is None:
        raise NotFound(_l("No such department"))
    return department


def list_departments(*, active_only: bool = False) -> list[Department]:
    """Return departments by code (only active ones when asked)."""
    query = select(Department).order_by(Department.active.desc(), Department.code)
    if active_only:
        query = query.where(Department.active.is_(True))
    return list(db.session.scalars(query))


def counts() -> dict[int, tuple[int, int]]:
    """Return (documents, users) per department id."""
    docs = dict(db.session.execute(select(Document.department_id, func.count(Document.id))
                                   .group_by(Document.department_id)).all())
    people = dict(db.session.execute(select(User.department_id, func.count(User.id))
                                     .group_by(User.department_id)).all())
    return {d.id: (docs.get(d.id, 0), people.get(d.id, 0))
            for d in db.session.scalars(select(Department))}


def create_department(actor: User | None, *, code: str, name: str,
                      name_en: str | None = None) -> Department:
    """Create a department; its code is kept as typed and unique whatever its case."""
    _allowed(actor)
    code = nfc(code if isinstance(code, str) else "")
    if not is_valid_code(code) or len(code) > CODE_MAX:
        raise ValidationError(_l("Department code: up to 20 letters or digits, in groups "
                                 "joined by '.', '_' or '-'"), field="code")
    shown = _name(name, "name", required=True)
    english = _name(name_en, "name_en", required=False)
    taken = db.session.scalars(select(Department.code)).all()
    if any(_same(other, code) for other in taken):
        raise Conflict(_l("A department with this code exists"), field="code")
    department = Department(code=code, name=shown, name_en=english, active=True)
    db.session.add(department)
    db.session.flush()
    audit.record("department_created", actor, object_type="department",
                 object_id=str(department.id),
                 details={"code": code, "name": shown, "name_en": english})
    db.session.commit()
    return department


def update_department(actor: User | None, code: str, *, name: str | None = None,
                      name_en: str | None = None, active: bool | None = None,
                      clear_name_en: bool = False) -> Department:
    """Rename, deactivate or reactivate a department (it is never deleted)."""
    _allowed(actor)
    department = get(code)
    if active is not None and not isinstance(active, bool):
        raise ValidationError(_l("Active must be true or false"), field="active")
    before = {"name": department.name, "name_en": department.name_en,
              "active": department.active}
    # Both names are checked before either is set: a refusal leaves the department as it was.
    shown = _name(name, "name", required=True) if name is not None else department.name
    english = (_name(name_en, "name_en", required=False)
               if name_en is not None or clear_name_en else department.name_en)
    department.name, department.name_en = shown, english
    if active is not None:
        department.active = active
    after = {"name": department.name, "name_en": department.name_en,
             "active": department.active}
    if after != before:
        if before["active"] != after["active"]:
            action = "department_reactivated" if after["active"] else "department_deactivated"
        else:
            action = "department_renamed"
        audit.record(action, actor, object_type="department", object_id=str(department.id),
                     details={"code": department.code, "before": before, "after": after})
    db.session.commit()
    return department


def require_active(department: Department) -> None:
    """Refuse an inactive department for a new document or user."""
    if not department.active:
        raise ValidationError(_l("This department is deactivated: choose another one"),
                              field="department")
