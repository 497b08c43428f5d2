"""Departments: the organisation's units that own documents and people."""

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from docctl.domain.permissions import Perm
from docctl.domain.textfold import clean_line, fold, is_valid_code, nfc
from docctl.errors import Conflict, ValidationError
from docctl.extensions import db
from docctl.models import Department, User
from docctl.services import audit
from docctl.services.documents import require

CODE_MAX = 20   # the column's width


def create_department(actor: User | None, *, code: str, name: str) -> Department:
    """Create a department; its code is kept as typed and unique whatever its case."""
    if actor is not None:   # None: the administrator's own command line
        require(actor, Perm.MANAGE_USERS)
    code = nfc(code).strip()
    if not is_valid_code(code) or len(code) > CODE_MAX:
        raise ValidationError(_l("Department code: up to 20 letters or digits, in groups "
                                 "joined by '.', '_' or '-'"), field="code")
    shown = clean_line(name, max_len=200)
    if not shown:
        raise ValidationError(_l("Department name is required"), field="name")
    # Codes are compared folded: "vp" and "VP" would be the same department to a person.
    taken = db.session.scalars(select(Department.code)).all()
    if any(fold(other) == fold(code) for other in taken):
        raise Conflict(_l("A department with this code exists"), field="code")
    department = Department(code=code, name=shown)
    db.session.add(department)
    db.session.flush()
    audit.record("department_created", actor, object_type="department",
                 object_id=str(department.id), details={"code": code, "name": shown})
    db.session.commit()
    return department
