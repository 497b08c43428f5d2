"""What a revision's file printed about itself, as stored with the revision."""

import json
from datetime import date

from docctl.models import Revision
from docctl.office.printed import Printed
from docctl.services import printed


def _stored(revision: Revision) -> dict:
    try:
        stored = json.loads(revision.printed or "{}")
    except ValueError:
        stored = {}
    return stored if isinstance(stored, dict) else {}


def _texts(values) -> list[str]:
    return [str(v) for v in values] if isinstance(values, list) else []


def stored_json(shown: Printed, warnings: list, notices) -> str:
    """Return the revision's `printed` text: what the file prints, warnings, upload notices."""
    # Notices (converted from .doc, no text layer) are told at upload and kept with the
    # revision, so the revision page still says why a PDF cannot be found by its words.
    return json.dumps({**printed.as_json(shown, warnings), "notices": _texts(list(notices))},
                      ensure_ascii=False)


def facts(revision: Revision) -> dict:
    """Return the printed code, issue, amendment, effective date, warnings and notices."""
    stored = _stored(revision)
    return {"code": stored.get("code"), "issue": stored.get("issue"),
            "amendment": stored.get("amendment"),
            "effective_date": stored.get("effective_date"),
            "warnings": _texts(stored.get("warnings")),
            "notices": _texts(stored.get("notices"))}


def recheck(revision: Revision, effective_date: date) -> list[str]:
    """Check the stored printed facts against the chosen effective date; keep the warnings."""
    stored = _stored(revision)
    shown = printed.from_json(stored)
    if not shown.found():
        return []
    warnings = printed.check(shown, code=revision.document.code, issue=revision.issue,
                             amendment=revision.amendment, effective_date=effective_date)
    revision.printed = stored_json(shown, warnings, _texts(stored.get("notices")))
    return [str(w) for w in warnings]
