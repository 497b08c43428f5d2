"""Plans for one revision of one document: publish, take effect, withdraw, import."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import delete

from docctl.domain.labels import LabelFormat, format_label
from docctl.domain.lifecycle import Action, Status, next_status
from docctl.extensions import db
from docctl.models import DraftFile, IndexJob, Intent, Revision, User
from docctl.services import audit, organisation, signatures
from docctl.services.documents import (
    document_dir,
    effective_revision,
    original_bytes,
    revision_bytes,
)
from docctl.services.gitfacts import (
    as_json,
    base_trailers,
    document_facts,
    local,
    revision_facts,
    who,
)
from docctl.services.plans import CommitSpec, register
from docctl.store import layout


def _revision(intent: Intent) -> Revision:
    return db.session.get(Revision, intent.revision_id)


def source_files(revision: Revision) -> dict[str, bytes]:
    """Return the files a revision's content adds to its folder: source, text, original."""
    folder = document_dir(revision.document)
    files = {f"{folder}/{layout.source_name(revision.media)}": revision_bytes(revision),
             f"{folder}/{layout.CONTENT}": revision.text.encode()}
    original = original_bytes(revision)
    if original is not None:
        files[f"{folder}/{layout.ORIGINAL_DOC}"] = original
    return files


def facts_files(revision: Revision, document_json: dict, revision_json: dict) -> dict:
    """Return document.json and revision.json of a revision's folder."""
    folder = document_dir(revision.document)
    return {f"{folder}/{layout.DOCUMENT_JSON}": as_json(document_json),
            f"{folder}/{layout.REVISION_JSON}": as_json(revision_json)}


# -- publish: the approver's signature; in force now or on its date ----------------------

def publish_trailers(revision: Revision, payload: dict, actor: User | None,
                     approved_at: str) -> list[tuple[str, str]]:
    """Return the trailers of an approval: who, when, from when, which numbers and bytes."""
    return base_trailers(revision, "publish") + [
        ("Approved-By", who(actor)), ("Approved-At", approved_at),
        ("Effective-Date", payload["effective_date"]),
        ("Content-SHA256", revision.sha256),
        ("Revision-Label", organisation.label(revision.issue, revision.amendment)),
        ("Issue", str(revision.issue)), ("Amendment", str(revision.amendment))]


def build_publish(intent: Intent, payload: dict, actor: User | None) -> CommitSpec:
    """Return the commit of an approval."""
    revision = _revision(intent)
    document = revision.document
    approved_at = local(datetime.fromisoformat(payload["signed_at"]))
    takes_effect = payload["takes_effect"]
    previous = effective_revision(document)
    status = "effective" if takes_effect else "approved"
    rev_json = revision_facts(revision, status, approver=actor, approved_at=approved_at,
                              effective_date=payload["effective_date"])
    current = revision.number if takes_effect else (previous.number if previous else None)
    doc_status = "effective" if takes_effect or previous else "new"
    files = facts_files(revision, document_facts(document, doc_status, current), rev_json)
    files.update(source_files(revision))
    trailers = publish_trailers(revision, payload, actor, approved_at)
    if takes_effect and previous is not None:
        trailers.append(("Supersedes", str(previous.number)))
    # The commit message spells the numbers out, whatever the organisation's short form.
    spelled = format_label(revision.issue, revision.amendment, LabelFormat.LONG)
    return CommitSpec(subject=f'{document.code} r{revision.number}: publish "{document.title}"',
                      body=f"{spelled}.", files=files, trailers=trailers,
                      tags=[(payload["tag"],
                             f"{document.code} r{revision.number} approved {approved_at}")])


def apply_publish(intent: Intent, payload: dict, sha: str, actor: User | None) -> None:
    """Record the approval; make the revision effective if its day has come."""
    revision = _revision(intent)
    at = datetime.fromisoformat(payload["signed_at"])
    approved(revision, actor, at, sha, payload)
    if payload["takes_effect"]:
        make_effective(revision, at, actor, sha)


def approved(revision: Revision, actor: User | None, at: datetime, sha: str,
             payload: dict, *, meaning: str = "approved") -> None:
    """Mark a revision approved at a commit, signed by actor; git holds its bytes now."""
    revision.status = next_status(revision.status, Action.APPROVE)
    revision.approved_at = at
    revision.effective_date = date.fromisoformat(payload["effective_date"])
    revision.commit_sha, revision.tag = sha, payload["tag"]
    db.session.add(signatures.build(actor, revision, meaning, at, "password"))
    # git holds the controlled bytes from now on; delete without loading them (a release
    # approves forty at once).
    db.session.execute(delete(DraftFile).where(DraftFile.revision_id == revision.id)
                       .execution_options(synchronize_session=False))
    audit.record("approved", actor, document=revision.document, revision=revision,
                 details={"commit": sha, "effective_date": payload["effective_date"],
                          **({"release": payload["release_id"]}
                             if payload.get("release_id") else {})})


def make_effective(revision: Revision, at: datetime, actor: User | None, sha: str) -> None:
    """Put a revision in force, retiring the one before it; queue their index jobs."""
    from docctl.services import review_dates

    document = revision.document
    previous = effective_revision(document)
    if previous is not None and previous.id != revision.id:
        previous.status = next_status(previous.status, Action.SUPERSEDE)
        previous.ended_at, previous.superseded_by = at, revision.number
        # The partial unique index allows one effective row: retire the old one first.
        db.session.flush()
        db.session.add(IndexJob(document_id=document.id, revision_id=previous.id,
                                action="status", created_at=at))
        audit.record("superseded", actor, document=document, revision=previous,
                     details={"by": revision.number, "commit": sha})
    revision.status = next_status(revision.status, Action.TAKE_EFFECT)
    revision.effective_at = at
    if revision.commit_sha is None:
        revision.commit_sha = sha
    document.status = "effective"
    review_dates.on_effective(document, revision)
    from docctl.services import change_requests  # the requests it carries out are done
    change_requests.on_effective(revision, actor)
    db.session.add(IndexJob(document_id=document.id, revision_id=revision.id, action="index",
                            created_at=at))
    audit.record("effective", actor, document=document, revision=revision,
                 details={"commit": sha, "effective_date": revision.effective_date.isoformat()})


# -- take effect: an approved revision's date has come -----------------------------------

def build_take_effect(intent: Intent, payload: dict, actor: User | None) -> CommitSpec:
    """Return the commit that puts an approved revision in force on its date."""
    revision = _revision(intent)
    document = revision.document
    previous = effective_revision(document)
    approver = revision.approver
    rev_json = revision_facts(
        revision, "effective", approver=approver,
        approved_at=local(revision.approved_at) if revision.approved_at else None,
        effective_date=revision.effective_date.isoformat())
    files = facts_files(revision, document_facts(document, "effective", revision.number),
                        rev_json)
    action = "supersede" if previous is not None else "effective"
    trailers = [("Docctl-Document", document.code), ("Docctl-Revision", str(revision.number)),
                ("Docctl-Action", action), ("Approved-By", who(approver)),
                ("Effective-Date", revision.effective_date.isoformat()),
                ("Content-SHA256", revision.sha256)]
    if previous is not None:
        trailers.append(("Supersedes", str(previous.number)))
    verb = f"supersedes r{previous.number}" if previous else "takes effect"
    return CommitSpec(subject=f"{document.code} r{revision.number}: {verb}", body=None,
                      files=files, trailers=trailers)


def apply_take_effect(intent: Intent, payload: dict, sha: str, actor: User | None) -> None:
    """Put the revision in force."""
    make_effective(_revision(intent), datetime.fromisoformat(payload["at"]), None, sha)


# -- withdraw: the document leaves force --------------------------------------------------

def build_withdraw(intent: Intent, payload: dict, actor: User | None) -> CommitSpec:
    """Return the commit of a withdrawal: the revision in force becomes obsolete."""
    revision = _revision(intent)
    document = revision.document
    at = local(datetime.fromisoformat(payload["signed_at"]))
    rev_json = revision_facts(
        revision, "obsolete", approver=revision.approver,
        approved_at=local(revision.approved_at) if revision.approved_at else None,
        effective_date=revision.effective_date.isoformat() if revision.effective_date
        else None, extra={"withdrawn_by": who(actor), "withdrawn_at": at,
                          "withdrawn_reason": payload["reason"]})
    files = facts_files(revision, document_facts(document, "obsolete", None), rev_json)
    trailers = [("Docctl-Document", document.code), ("Docctl-Revision", str(revision.number)),
                ("Docctl-Action", "withdraw"), ("Reason-For-Change", payload["reason"]),
                ("Withdrawn-By", who(actor)), ("Withdrawn-At", at)]
    return CommitSpec(subject=f'{document.code} r{revision.number}: withdraw '
                              f'"{document.title}"', body=None, files=files,
                      trailers=trailers)


def apply_withdraw(intent: Intent, payload: dict, sha: str, actor: User | None) -> None:
    """Make the document obsolete, with every revision that could bring it back."""
    withdrawn(_revision(intent), actor, datetime.fromisoformat(payload["signed_at"]), sha,
              payload["reason"])


def withdrawn(revision: Revision, actor: User | None, at: datetime, sha: str, reason: str,
              *, meaning: str = "withdrawn", details: dict | None = None) -> None:
    """Make a revision's document obsolete at `at`, signed by actor; queue its removal."""
    document = revision.document
    revision.status = next_status(revision.status, Action.WITHDRAW)
    revision.ended_at, revision.ended_reason = at, reason
    db.session.add(signatures.build(actor, revision, meaning, at, "password"))
    # A revision approved for a later date must not bring the document back.
    for pending in document.revisions:
        if pending.id != revision.id and pending.status == Status.APPROVED:
            pending.status = next_status(pending.status, Action.WITHDRAW)
            pending.ended_at, pending.ended_reason = at, reason
    document.status, document.withdrawn_at = "obsolete", at
    document.withdrawn_reason = reason
    document.next_review_date = None
    db.session.add(IndexJob(document_id=document.id, revision_id=revision.id,
                            action="remove", created_at=at))
    audit.record("withdrawn", actor, document=document, revision=revision,
                 details={"commit": sha, **(details or {})}, reason=reason)


# -- import: in force at the agency's own numbers and date --------------------------------

def build_import(intent: Intent, payload: dict, actor: User | None) -> CommitSpec:
    """Return the commit of an imported revision: in force at its own numbers and date.

    The importer signs "imported"; the original approver is a name from the agency's list,
    recorded as text, never as a docctl approval.
    """
    revision = _revision(intent)
    document = revision.document
    imported_at = local(datetime.fromisoformat(payload["signed_at"]))
    label = organisation.label(revision.issue, revision.amendment)
    origin = {"approver": revision.origin_approver,
              "approved_on": revision.origin_approved_on.isoformat()
              if revision.origin_approved_on else None}
    rev_json = revision_facts(
        revision, "effective", approver=None, approved_at=None,
        effective_date=payload["effective_date"],
        extra={"label": label, "issue": revision.issue, "amendment": revision.amendment,
               "prepared_by": None,
               "imported": {"by": who(actor), "at": imported_at, "run": payload["run_id"],
                            "meaning": "imported"},
               "original_approval": origin})
    files = facts_files(revision, document_facts(document, "effective", revision.number),
                        rev_json)
    files.update(source_files(revision))
    trailers = [("Docctl-Document", document.code), ("Docctl-Revision", str(revision.number)),
                ("Docctl-Action", "import"), ("Revision-Label", label),
                ("Issue", str(revision.issue)), ("Amendment", str(revision.amendment)),
                ("Imported-By", who(actor)), ("Imported-At", imported_at),
                ("Import-Run", str(payload["run_id"]))]
    if origin["approver"]:
        trailers.append(("Original-Approver", origin["approver"]))
    if origin["approved_on"]:
        trailers.append(("Original-Approved-On", origin["approved_on"]))
    trailers += [("Effective-Date", payload["effective_date"]),
                 ("Content-SHA256", revision.sha256)]
    return CommitSpec(subject=f'{document.code} r{revision.number}: import "{document.title}"',
                      body=f"Imported from the existing system: {label}.", files=files,
                      trailers=trailers,
                      tags=[(payload["tag"],
                             f"{document.code} r{revision.number} imported {imported_at}")])


def apply_import(intent: Intent, payload: dict, sha: str, actor: User | None) -> None:
    """Put the imported revision in force at its own date, signed "imported"."""
    from docctl.services import review_dates

    revision = _revision(intent)
    document = revision.document
    at = datetime.fromisoformat(payload["signed_at"])
    revision.status = Status.EFFECTIVE   # imported in force: no review or approval here
    revision.effective_date = date.fromisoformat(payload["effective_date"])
    revision.effective_at = at
    revision.commit_sha, revision.tag = sha, payload["tag"]
    db.session.add(signatures.build(actor, revision, "imported", at, "import"))
    draft = db.session.get(DraftFile, revision.id)
    if draft is not None:
        db.session.delete(draft)
    document.status = "effective"
    review_dates.on_effective(document, revision)
    db.session.add(IndexJob(document_id=document.id, revision_id=revision.id, action="index",
                            created_at=at))
    audit.record("document_imported", actor, document=document, revision=revision,
                 details={"commit": sha, "run": payload["run_id"], "issue": revision.issue,
                          "amendment": revision.amendment,
                          "effective_date": payload["effective_date"],
                          "original_approver": revision.origin_approver})


register("publish", build=build_publish, apply=apply_publish)
register("take_effect", build=build_take_effect, apply=apply_take_effect)
register("withdraw", build=build_withdraw, apply=apply_withdraw)
register("import", build=build_import, apply=apply_import)
