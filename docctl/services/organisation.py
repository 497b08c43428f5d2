"""The organisation's own settings: its name, code patterns, label format, review period."""

import json

from flask import g, has_app_context
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from docctl.domain.labels import DEFAULT_FORMAT, LabelFormat, format_label
from docctl.domain.numbering import DocType
from docctl.domain.permissions import Perm, Role, has_perm, role_list
from docctl.domain.textfold import clean_line, is_valid_code, nfc
from docctl.errors import Forbidden, ValidationError
from docctl.extensions import db
from docctl.models import Department, Document, Setting, User
from docctl.services import audit
from docctl.services.context import now, setting

# Setting rows (the `setting` table); absent rows fall back to the defaults below.
NAME = "org_name"
NAME_EN = "org_name_en"
# Địa danh printed on the place-date line of a decision ("Lào Cai, ngày 05 tháng 3 năm 2024").
PLACE = "org_place"
LABEL_FORMAT = "label_format"
CODE_PATTERNS = "code_patterns"
REVIEW_MONTHS = "default_review_months"

DEFAULT_REVIEW_MONTHS = 12


def _cache() -> dict:
    # Read once per request (or app context): a page or a copy asks for the label format
    # once per revision it shows, and the organisation's name on every page.
    return g.setdefault("docctl_organisation", {}) if has_app_context() else {}


def _get(name: str) -> str | None:
    cache = _cache()
    if name not in cache:
        row = db.session.get(Setting, name)
        cache[name] = row.value if row is not None else None
    return cache[name]


def put(name: str, value: str) -> None:
    """Store one organisation setting in the caller's unit of work (no commit)."""
    row = db.session.get(Setting, name)
    if row is None:
        db.session.add(Setting(name=name, value=value, updated_at=now()))
    else:
        row.value, row.updated_at = value, now()
    # Forget what was read: later reads see the new value (or, after a rollback, the old).
    _cache().clear()


def name() -> str:
    """Return the organisation's name as printed on every page and stamp."""
    return _get(NAME) or setting("ORG_NAME") or ""


def place() -> str:
    """Return the place name printed on the organisation's decisions, or ''."""
    return _get(PLACE) or ""


def label_format() -> LabelFormat:
    """Return how revision labels are printed."""
    value = _get(LABEL_FORMAT)
    return LabelFormat(value) if value in LabelFormat._value2member_map_ else DEFAULT_FORMAT


def label(issue: int, amendment: int) -> str:
    """Return the label of an issue and amendment in the organisation's format."""
    return format_label(issue, amendment, label_format())


def code_patterns() -> dict[str, str]:
    """Return the organisation's code patterns by document type ({} means the defaults)."""
    try:
        value = json.loads(_get(CODE_PATTERNS) or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def default_review_months() -> int:
    """Return the review period new documents get unless registered with their own."""
    value = _get(REVIEW_MONTHS)
    return int(value) if value and value.isdigit() else DEFAULT_REVIEW_MONTHS


# --- Setters: the administrator's organisation page (validated, audited, one commit) ---

NAME_MAX = 200
PREFIX_MAX = 12
REVIEW_MONTHS_MAX = 120
SETTING_FIELDS = {"name", "name_en", "place", "label_format", "code_patterns", "review_months"}


def _text(value, field: str, *, required: bool) -> str | None:
    if value is not None and not isinstance(value, str):
        raise ValidationError(_l("This must be text"), field=field)
    shown = clean_line(value, max_len=NAME_MAX + 1)
    if len(shown) > NAME_MAX:
        raise ValidationError(_l("At most 200 characters"), field=field)
    if required and not shown:
        raise ValidationError(_l("The organisation's name is required"), field=field)
    return shown or None


def _patterns(value) -> dict[str, str]:
    if not isinstance(value, dict):
        raise ValidationError(_l("Code patterns must map a document type to a prefix"),
                              field="code_patterns")
    known = {t.value for t in DocType}
    patterns = {}
    for doc_type, prefix in value.items():
        if doc_type not in known:
            raise ValidationError(_l("Unknown document type"), field="code_patterns")
        prefix = nfc(prefix) if isinstance(prefix, str) else None
        if prefix == "":
            continue   # empty: the built-in prefix
        if prefix is None or len(prefix) > PREFIX_MAX or not is_valid_code(prefix):
            raise ValidationError(_l("A code prefix holds up to 12 letters or digits, in "
                                     "groups joined by '.', '_' or '-'"),
                                  field="code_patterns", type=doc_type)
        patterns[doc_type] = prefix
    return patterns


def _months(value) -> int:
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or \
            not 1 <= value <= REVIEW_MONTHS_MAX:
        raise ValidationError(_l("Review period must be 1–120 months"),
                              field="review_months")
    return value


def settings() -> dict:
    """Return the organisation's settings as the administrator edits them."""
    return {"name": name(), "name_en": _get(NAME_EN) or "", "place": place(),
            "label_format": label_format().value, "code_patterns": code_patterns(),
            "review_months": default_review_months()}


def update(actor, changes: dict) -> dict:
    """Validate and store the organisation's settings; audit what changed; commit."""
    if actor is not None and not has_perm(actor.role, Perm.MANAGE_USERS):
        # None: `docctl init` on the administrator's own machine
        raise Forbidden(_l("Your role does not allow this"))
    unknown = set(changes) - SETTING_FIELDS
    if unknown:
        raise ValidationError(_l("Unknown or read-only fields: %(f)s",
                                 f=", ".join(sorted(unknown))), fields=sorted(unknown))
    before = settings()
    rows = {}
    if "name" in changes:
        rows[NAME] = _text(changes["name"], "name", required=True)
    if "name_en" in changes:
        rows[NAME_EN] = _text(changes["name_en"], "name_en", required=False) or ""
    if "place" in changes:
        rows[PLACE] = _text(changes["place"], "place", required=False) or ""
    if "label_format" in changes:
        if changes["label_format"] not in LabelFormat._value2member_map_:
            raise ValidationError(_l("Unknown label format"), field="label_format")
        rows[LABEL_FORMAT] = changes["label_format"]
    if "code_patterns" in changes:
        rows[CODE_PATTERNS] = json.dumps(_patterns(changes["code_patterns"]),
                                         ensure_ascii=False, sort_keys=True)
    if "review_months" in changes:
        rows[REVIEW_MONTHS] = str(_months(changes["review_months"]))
    for key, value in rows.items():
        put(key, value)
    db.session.flush()
    after = settings()
    if after != before:
        changed = sorted(k for k in after if after[k] != before[k])
        audit.record("organisation_changed", actor, object_type="organisation",
                     details={"changed": changed,
                              "before": {k: before[k] for k in changed},
                              "after": {k: after[k] for k in changed}})
    db.session.commit()
    return after


def label_examples() -> list[tuple[str, str, str]]:
    """Return (format, example of a first issue, example of an amended one) per format."""
    return [(f.value, format_label(3, 0, f), format_label(3, 1, f)) for f in LabelFormat]


def setup_steps() -> dict[str, bool]:
    """Tell which first-day steps are done: departments, users besides admins, documents."""
    has_departments = bool(db.session.scalar(select(func.count(Department.id))))
    has_people = any(role_list(role) != (Role.ADMIN,)
                     for role in db.session.scalars(select(User.role)))
    has_documents = bool(db.session.scalar(select(func.count(Document.id))))
    return {"departments": has_departments, "users": has_people,
            "documents": has_documents}
