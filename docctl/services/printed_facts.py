"""What a revision's file printed about itself, as stored with the revision."""

import json
from datetime import date

from docctl.models import Revision
from docctl.office.printed import Printed
from docctl.services import printed


def facts(revision: Revision) -> dict:
    """Return the printed code, issue, amendment, effective date and the warnings raised."""
    try:
        stored = json.loads(revision.printed or "{}")
    except ValueError:
        stored = {}
    stored = stored if isinstance(stored, dict) else {}
    return {"code": stored.get("code"), "issue": stored.get("issue"),
            "amendment": stored.get("amendment"),
            "effective_date": stored.get("effective_date"),
            "warnings": [str(w) for w in stored.get("warnings") or []]}


def _as_printed(stored: dict) -> Printed:
    try:
        day = date.fromisoformat(stored["effective_date"]) if stored["effective_date"] else None
    except (TypeError, ValueError):
        day = None
    return Printed(code=stored["code"], issue=stored["issue"], amendment=stored["amendment"],
                   effective_date=day)


def recheck(revision: Revision, effective_date: date) -> list[str]:
    """Check the stored printed facts against the chosen effective date; keep the warnings."""
    shown = _as_printed(facts(revision))
    if not shown.found():
        return []
    warnings = printed.check(shown, code=revision.document.code, issue=revision.issue,
                             amendment=revision.amendment, effective_date=effective_date)
    revision.printed = json.dumps(printed.as_json(shown, warnings), ensure_ascii=False)
    return [str(w) for w in warnings]
