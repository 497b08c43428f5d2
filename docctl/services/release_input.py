"""What a release is assembled from, checked: its decision's number, dates, texts and items."""

from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from docctl.domain.decisions import (
    OPEN,
    ItemAction,
    ReleaseStatus,
    normalise_number,
    number_key,
    number_slug,
)
from docctl.domain.lifecycle import Status
from docctl.domain.textfold import clean_line, nfc
from docctl.errors import Conflict, ValidationError
from docctl.extensions import db
from docctl.models import Document, Release, ReleaseItem, Revision
from docctl.services.documents import effective_revision, find_by_code

MAX_ITEMS = 500
ITEM_FIELDS = {"code", "revision", "action"}


def date_field(value, field: str) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        pass
    raise ValidationError(_l("%(field)s must be a date (YYYY-MM-DD)", field=field), field=field)


def text_field(value, field: str, max_len: int, *, multiline: bool = False) -> str:
    if value is not None and not isinstance(value, str):
        raise ValidationError(_l("%(field)s must be text", field=field), field=field)
    text = "\n".join(clean_line(line, max_len=max_len) for line in nfc(value).splitlines()
                     if line.strip()) if multiline else clean_line(value, max_len=max_len + 1)
    if not text:
        raise ValidationError(_l("%(field)s is required", field=field), field=field)
    if len(text) > max_len:
        raise ValidationError(_l("%(field)s is too long (at most %(n)s characters)",
                                 field=field, n=max_len), field=field)
    return text


def decision_number(value) -> tuple[str, str, str]:
    if not isinstance(value, str) or normalise_number(value) is None:
        raise ValidationError(_l("The decision number must be in the form of Decree 30/2020/"
                                 "NĐ-CP, e.g. 3494/QĐ-UBND or 12/2024/QĐ-UBND"),
                              field="decision_number")
    number = normalise_number(value)
    key = number_key(number)
    if db.session.scalar(select(Release.id).where(Release.decision_key == key)):
        raise Conflict(_l("Decision %(n)s is already registered", n=number),
                       field="decision_number")
    return number, key, number_slug(number)


def _item(raw, position: int) -> tuple[Document, Revision | None, str]:
    if not isinstance(raw, dict) or set(raw) - ITEM_FIELDS or not isinstance(
            raw.get("code"), str):
        raise ValidationError(_l("Item %(n)s must be {\"code\", \"revision\"} or {\"code\", "
                                 "\"action\": \"abolish\"}", n=position), field="items")
    document = find_by_code(raw["code"])
    if document is None:
        raise ValidationError(_l("Item %(n)s: no document %(code)s", n=position,
                                 code=clean_line(raw["code"], max_len=40)), field="items")
    action = raw.get("action") or ItemAction.ISSUE
    if action == ItemAction.ABOLISH and raw.get("revision") is None:
        if document.status != "effective" or effective_revision(document) is None:
            raise Conflict(_l("%(code)s is not in force and cannot be abolished",
                              code=document.code), field="items")
        return document, None, ItemAction.ABOLISH
    number = raw.get("revision")
    if action != ItemAction.ISSUE or not isinstance(number, int) or isinstance(number, bool):
        raise ValidationError(_l("Item %(n)s (%(code)s): give a revision number to issue, or "
                                 "\"action\": \"abolish\"", n=position, code=document.code),
                              field="items")
    revision = next((r for r in document.revisions if r.number == number), None)
    if revision is None:
        raise ValidationError(_l("%(code)s has no revision %(n)s", code=document.code,
                                 n=number), field="items")
    if revision.status != Status.AWAITING_APPROVAL:
        raise Conflict(_l("%(code)s r%(n)s has not been reviewed and is not awaiting "
                          "approval; only reviewed revisions can be issued by a decision",
                          code=document.code, n=number), field="items")
    return document, revision, ItemAction.ISSUE


def items(raw_items) -> list[tuple[Document, Revision | None, str]]:
    if not isinstance(raw_items, list) or not raw_items:
        raise ValidationError(_l("A decision must issue or abolish at least one document"),
                              field="items")
    if len(raw_items) > MAX_ITEMS:
        raise ValidationError(_l("At most %(n)s documents in one decision", n=MAX_ITEMS),
                              field="items")
    items, seen = [], set()
    for position, raw in enumerate(raw_items, start=1):
        document, revision, action = _item(raw, position)
        if document.id in seen:
            raise ValidationError(_l("%(code)s appears twice in this decision",
                                     code=document.code), field="items")
        seen.add(document.id)
        items.append((document, revision, action))
    busy = db.session.execute(select(Document.code, Release.decision_number)
                              .join(ReleaseItem, ReleaseItem.document_id == Document.id)
                              .join(Release).where(Document.id.in_(seen),
                                                   Release.status.in_(OPEN))).first()
    if busy:
        raise Conflict(_l("%(code)s is already in decision %(n)s, which is not in force yet",
                          code=busy[0], n=busy[1]), field="items")
    return items


def replaces(value) -> Release | None:
    if value in (None, ""):
        return None
    number = normalise_number(value) if isinstance(value, str) else None
    release = db.session.scalar(select(Release).where(
        Release.decision_key == number_key(number),
        Release.status.in_((ReleaseStatus.EFFECTIVE, ReleaseStatus.APPROVED)))) \
        if number else None
    if release is None:
        raise ValidationError(_l("No decision in force numbered %(n)s to replace",
                                 n=clean_line(str(value), max_len=60)), field="replaces")
    return release
