"""What commits say: document.json and revision.json facts, identities, shared trailers."""

import json
from datetime import datetime

from docctl.models import Document, Revision, User
from docctl.services import organisation, signatures
from docctl.services.context import zone
from docctl.store.gitstore import Person

DOCCTL = Person(name="docctl", email="docctl@localhost")


def person(user: User | None) -> Person:
    """Return the git identity of an acting user (docctl itself for the system)."""
    if user is None:
        return DOCCTL
    return Person(name=user.display_name, email=f"{user.username}@docctl.invalid")


def who(user: User | None) -> str:
    """Return "Name <username>" for trailers, or "docctl" for the system."""
    return f"{user.display_name} <{user.username}>" if user else "docctl"


def local(moment: datetime) -> str:
    """Return an instant in the organisation's zone, to the second (ISO 8601)."""
    return moment.astimezone(zone()).isoformat(timespec="seconds")


def as_json(data: dict) -> bytes:
    """Return the stable JSON bytes of a facts file."""
    return (json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode()


def document_facts(document: Document, status: str, current: int | None) -> dict:
    """Return the content of document.json."""
    return {"code": document.code, "title": document.title, "type": document.doc_type,
            "department": {"code": document.department.code, "name": document.department.name},
            "parent": document.parent.code if document.parent else None,
            "review_months": document.review_months, "status": status,
            "current_revision": current, "external_source": document.external_source}


def revision_facts(revision: Revision, status: str, *, approver: User | None,
                   approved_at: str | None, effective_date: str | None,
                   extra: dict | None = None) -> dict:
    """Return the content of revision.json."""
    signed = [{"user": s.user.username, "name": s.signer_name, "meaning": s.meaning,
               "signed_at": s.signed_at.isoformat(), "content_sha256": s.content_sha256,
               "method": s.method} for s in signatures.current(revision)]
    facts = {"document": revision.document.code, "revision": revision.number,
             "issue": revision.issue, "amendment": revision.amendment,
             "label": organisation.label(revision.issue, revision.amendment), "status": status,
             "reason": revision.reason, "filename": revision.filename,
             "sha256": revision.sha256, "size": revision.size,
             "prepared_by": who(revision.author),
             "reviewed_by": [s["name"] + f" <{s['user']}>" for s in signed
                             if s["meaning"] == "reviewed"],
             "approved_by": who(approver) if approver else None,
             "approved_at": approved_at, "effective_date": effective_date,
             "signatures": signed}
    from docctl.services import forms  # forms imports documents, which imports this module
    if revision.document.doc_type in forms.OWNER_TYPES:
        # The forms in force with this procedure revision, at their revisions (issue 11).
        facts["forms"] = [{"code": form.code, "revision": number, "label": label}
                          for form, number, label in forms.forms_of(revision)]
        from docctl.services import record_types  # issue 12: its records list ("Hồ sơ lưu")
        facts["records"] = [record_types.as_item(rt)
                            for rt in record_types.record_types_of(revision)]
    facts.update(extra or {})
    return facts


def base_trailers(revision: Revision, action: str) -> list[tuple[str, str]]:
    """Return the trailers every revision commit starts with: who prepared and reviewed it."""
    trailers = [("Docctl-Document", revision.document.code),
                ("Docctl-Revision", str(revision.number)),
                ("Docctl-Action", action)]
    if revision.reason:
        trailers.append(("Reason-For-Change", revision.reason))
    trailers.append(("Prepared-By", who(revision.author)))
    for signature in signatures.current(revision):
        if signature.meaning == "reviewed":
            trailers.append(("Reviewed-By", f"{signature.signer_name} <{signature.user.username}>"))
    return trailers
