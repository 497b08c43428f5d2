"""Build what a publish, take-effect or withdraw commit holds: files and trailers."""

import json
from dataclasses import dataclass, field
from datetime import datetime

from docctl.domain.labels import LabelFormat, format_label
from docctl.models import Document, Revision, User
from docctl.services import organisation, signatures
from docctl.services.context import zone
from docctl.services.documents import effective_revision, original_bytes, revision_bytes
from docctl.store import layout
from docctl.store.gitstore import Person

DOCCTL = Person(name="docctl", email="docctl@localhost")


@dataclass
class CommitSpec:
    subject: str
    body: str | None
    files: dict[str, bytes]
    trailers: list[tuple[str, str]] = field(default_factory=list)
    tag: str | None = None
    tag_message: str | None = None


def person(user: User | None) -> Person:
    """Return the git identity of an acting user (docctl itself for the system)."""
    if user is None:
        return DOCCTL
    return Person(name=user.display_name, email=f"{user.username}@docctl.invalid")


def _who(user: User | None) -> str:
    return f"{user.display_name} <{user.username}>" if user else "docctl"


def _local(moment: datetime) -> str:
    return moment.astimezone(zone()).isoformat(timespec="seconds")


def _json(data: dict) -> bytes:
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
             "prepared_by": _who(revision.author),
             "reviewed_by": [s["name"] + f" <{s['user']}>" for s in signed
                             if s["meaning"] == "reviewed"],
             "approved_by": _who(approver) if approver else None,
             "approved_at": approved_at, "effective_date": effective_date,
             "signatures": signed}
    facts.update(extra or {})
    return facts


def _base_trailers(revision: Revision, action: str) -> list[tuple[str, str]]:
    trailers = [("Docctl-Document", revision.document.code),
                ("Docctl-Revision", str(revision.number)),
                ("Docctl-Action", action)]
    if revision.reason:
        trailers.append(("Reason-For-Change", revision.reason))
    trailers.append(("Prepared-By", _who(revision.author)))
    for signature in signatures.current(revision):
        if signature.meaning == "reviewed":
            trailers.append(("Reviewed-By", f"{signature.signer_name} <{signature.user.username}>"))
    return trailers


def commit_files(kind: str, document: Document, revision: Revision, payload: dict,
                 actor: User | None) -> CommitSpec:
    """Return the commit that records one intent in git."""
    if kind == "import":
        return import_commit(document, revision, payload, actor)
    label = organisation.label(revision.issue, revision.amendment)
    # The commit message spells the numbers out, whatever the organisation's short form.
    spelled = format_label(revision.issue, revision.amendment, LabelFormat.LONG)
    if kind == "publish":
        approved_at = _local(datetime.fromisoformat(payload["signed_at"]))
        takes_effect = payload["takes_effect"]
        previous = effective_revision(document)
        status = "effective" if takes_effect else "approved"
        rev_json = revision_facts(revision, status, approver=actor, approved_at=approved_at,
                                  effective_date=payload["effective_date"])
        current = revision.number if takes_effect else (previous.number if previous else None)
        doc_status = "effective" if takes_effect or previous else "new"
        data = revision_bytes(revision)
        files = {layout.DOCUMENT_JSON: _json(document_facts(document, doc_status, current)),
                 layout.REVISION_JSON: _json(rev_json),
                 layout.source_name(revision.media): data,
                 layout.CONTENT: revision.text.encode()}
        original = original_bytes(revision)
        if original is not None:
            files[layout.ORIGINAL_DOC] = original
        trailers = _base_trailers(revision, "publish") + [
            ("Approved-By", _who(actor)), ("Approved-At", approved_at),
            ("Effective-Date", payload["effective_date"]),
            ("Content-SHA256", revision.sha256),
            ("Revision-Label", label), ("Issue", str(revision.issue)),
            ("Amendment", str(revision.amendment))]
        if takes_effect and previous is not None:
            trailers.append(("Supersedes", str(previous.number)))
        return CommitSpec(subject=f'{document.code} r{revision.number}: publish "{document.title}"',
                          body=f"{spelled}.", files=files, trailers=trailers,
                          tag=payload["tag"],
                          tag_message=f"{document.code} r{revision.number} approved {approved_at}")
    if kind == "take_effect":
        previous = effective_revision(document)
        approver = revision.approver
        rev_json = revision_facts(
            revision, "effective", approver=approver,
            approved_at=_local(revision.approved_at) if revision.approved_at else None,
            effective_date=revision.effective_date.isoformat())
        files = {layout.DOCUMENT_JSON: _json(document_facts(document, "effective",
                                                            revision.number)),
                 layout.REVISION_JSON: _json(rev_json)}
        action = "supersede" if previous is not None else "effective"
        trailers = [("Docctl-Document", document.code), ("Docctl-Revision", str(revision.number)),
                    ("Docctl-Action", action), ("Approved-By", _who(approver)),
                    ("Effective-Date", revision.effective_date.isoformat()),
                    ("Content-SHA256", revision.sha256)]
        if previous is not None:
            trailers.append(("Supersedes", str(previous.number)))
        verb = f"supersedes r{previous.number}" if previous else "takes effect"
        return CommitSpec(subject=f"{document.code} r{revision.number}: {verb}", body=None,
                          files=files, trailers=trailers)
    if kind == "withdraw":
        at = _local(datetime.fromisoformat(payload["signed_at"]))
        rev_json = revision_facts(
            revision, "obsolete", approver=revision.approver,
            approved_at=_local(revision.approved_at) if revision.approved_at else None,
            effective_date=revision.effective_date.isoformat() if revision.effective_date
            else None, extra={"withdrawn_by": _who(actor), "withdrawn_at": at,
                              "withdrawn_reason": payload["reason"]})
        files = {layout.DOCUMENT_JSON: _json(document_facts(document, "obsolete", None)),
                 layout.REVISION_JSON: _json(rev_json)}
        trailers = [("Docctl-Document", document.code), ("Docctl-Revision", str(revision.number)),
                    ("Docctl-Action", "withdraw"), ("Reason-For-Change", payload["reason"]),
                    ("Withdrawn-By", _who(actor)), ("Withdrawn-At", at)]
        return CommitSpec(subject=f'{document.code} r{revision.number}: withdraw '
                                  f'"{document.title}"', body=None, files=files,
                          trailers=trailers)
    raise ValueError(f"unknown intent kind {kind}")



def import_commit(document: Document, revision: Revision, payload: dict,
                  actor: User) -> CommitSpec:
    """Return the commit of an imported revision: in force at its own numbers and date.

    The importer signs "imported"; the original approver is a name from the agency's list,
    recorded as text, never as a docctl approval.
    """
    from docctl.services import organisation

    imported_at = _local(datetime.fromisoformat(payload["signed_at"]))
    label = organisation.label(revision.issue, revision.amendment)
    origin = {"approver": revision.origin_approver,
              "approved_on": revision.origin_approved_on.isoformat()
              if revision.origin_approved_on else None}
    rev_json = revision_facts(
        revision, "effective", approver=None, approved_at=None,
        effective_date=payload["effective_date"],
        extra={"label": label, "issue": revision.issue, "amendment": revision.amendment,
               "prepared_by": None,
               "imported": {"by": _who(actor), "at": imported_at, "run": payload["run_id"],
                            "meaning": "imported"},
               "original_approval": origin})
    files = {layout.DOCUMENT_JSON: _json(document_facts(document, "effective",
                                                        revision.number)),
             layout.REVISION_JSON: _json(rev_json),
             layout.source_name(revision.media): revision_bytes(revision),
             layout.CONTENT: revision.text.encode()}
    original = original_bytes(revision)
    if original is not None:
        files[layout.ORIGINAL_DOC] = original
    trailers = [("Docctl-Document", document.code), ("Docctl-Revision", str(revision.number)),
                ("Docctl-Action", "import"), ("Revision-Label", label),
                ("Issue", str(revision.issue)), ("Amendment", str(revision.amendment)),
                ("Imported-By", _who(actor)), ("Imported-At", imported_at),
                ("Import-Run", str(payload["run_id"]))]
    if origin["approver"]:
        trailers.append(("Original-Approver", origin["approver"]))
    if origin["approved_on"]:
        trailers.append(("Original-Approved-On", origin["approved_on"]))
    trailers += [("Effective-Date", payload["effective_date"]),
                 ("Content-SHA256", revision.sha256)]
    return CommitSpec(subject=f'{document.code} r{revision.number}: import "{document.title}"',
                      body=f"Imported from the existing system: {label}.", files=files,
                      trailers=trailers, tag=payload["tag"],
                      tag_message=f"{document.code} r{revision.number} imported {imported_at}")
