"""Plans of a release: signed ("release"), in force on its date ("release_effective"), and its
signed scan kept after signing ("release_scan"). Each is one commit across every folder."""

from __future__ import annotations

from datetime import datetime

from docctl.domain.decisions import ItemAction, ReleaseStatus
from docctl.domain.numbering import DocType
from docctl.extensions import db
from docctl.models import Intent, Release, ReleaseScan, User
from docctl.office.decision import DecisionLine, DecisionText, build_decision
from docctl.services import audit, organisation
from docctl.services.documents import effective_revision, label
from docctl.services.gitfacts import as_json, document_facts, local, revision_facts, who
from docctl.services.plans import CommitSpec, register
from docctl.services.plans.revisions import (
    approved,
    facts_files,
    make_effective,
    source_files,
    withdrawn,
)
from docctl.store import layout

_TYPE_ORDER = {t.value: i for i, t in enumerate(DocType)}
RELEASE_JSON = "release.json"
DECISION = "decision.docx"
SCAN = "signed-scan.pdf"
MEANING = "issued_by_decision"


def _release(intent: Intent) -> Release:
    return db.session.get(Release, intent.release_id)


def _action(item) -> str:
    from docctl.services.releases import item_action
    return item_action(item)


def decision_docx(release: Release) -> bytes:
    """Return the decision as docctl drafts it, in Decree 30 layout."""
    replaced = release.replaces
    return build_decision(DecisionText(
        organisation=organisation.name(), place=organisation.place(),
        number=release.decision_number, decision_date=release.decision_date,
        title=release.title, signer=release.signer, effective_date=release.effective_date,
        replaces=f"{replaced.decision_number} ngày {replaced.decision_date:%d/%m/%Y}"
        if replaced else None,
        lines=[DecisionLine(item.document.code, item.document.title,
                            label(item.revision) if item.revision else None, _action(item))
               for item in sorted(release.items, key=_appendix_order)]))


def _appendix_order(item) -> tuple:
    # As agencies list them: manual, policy, objectives, procedures, instructions, each
    # document's forms right after it, then external documents; issued before abolished.
    document = item.document
    owner = document.parent if document.doc_type == "form" and document.parent else document
    return (item.action == ItemAction.ABOLISH, _TYPE_ORDER.get(owner.doc_type, 99),
            owner.code, document.doc_type == "form", document.code)


def release_facts(release: Release, status: str, *, approver: User | None,
                  approved_at: str | None, scan: ReleaseScan | None) -> dict:
    """Return the content of release.json: the decision and what it does to each document."""
    return {"decision_number": release.decision_number, "slug": release.slug,
            "title": release.title, "decision_date": release.decision_date.isoformat(),
            "signer": release.signer, "effective_date": release.effective_date.isoformat(),
            "status": status,
            "replaces": release.replaces.decision_number if release.replaces else None,
            "approved_by": who(approver) if approver else None, "approved_at": approved_at,
            "items": [{"code": item.document.code, "action": _action(item),
                       "revision": item.revision.number if item.revision else None,
                       "label": label(item.revision) if item.revision else None,
                       "sha256": item.revision.sha256 if item.revision else None}
                      for item in release.items],
            "signed_scan": {"filename": scan.filename, "sha256": scan.sha256}
            if scan else None}


def _trailers(release: Release, action: str) -> list[tuple[str, str]]:
    trailers = [("Docctl-Release", release.slug), ("Docctl-Action", action),
                ("Decision-Number", release.decision_number),
                ("Decision-Date", release.decision_date.isoformat()),
                ("Effective-Date", release.effective_date.isoformat())]
    for item in release.items:
        trailers.append(("Issues", f"{item.document.code} r{item.revision.number}")
                        if item.revision else ("Abolishes", item.document.code))
    if release.replaces:
        trailers.append(("Replaces-Decision", release.replaces.decision_number))
    return trailers


def _forms_after(revision, release: Release) -> list[dict] | None:
    """Return the forms a procedure revision lists once the release is in force.

    A first issue lists the forms registered under it; those issued by the same decision are
    in force with it from the same day, though not yet when the commit is built.
    """
    from docctl.services import forms

    if revision.document.doc_type not in forms.OWNER_TYPES:
        return None
    listed = {form.id: (form, number, text) for form, number, text in forms.forms_of(revision)}
    if not forms.was_set(revision):
        for item in release.items:
            form = item.document
            if item.revision is not None and form.parent_id == revision.document_id and \
                    form.doc_type == "form" and form.id not in listed:
                listed[form.id] = (form, item.revision.number, label(item.revision))
    abolished = {item.document_id for item in release.items if item.revision is None}
    return [{"code": form.code, "revision": number, "label": text}
            for form, number, text in sorted(listed.values(), key=lambda row: row[0].code)
            if form.id not in abolished]


def _extra(revision, release: Release) -> dict:
    extra = {"release": release.decision_number}
    forms_after = _forms_after(revision, release)
    if forms_after is not None:
        extra["forms"] = forms_after
    return extra


def _in_force_files(release: Release, approver: User | None, approved_at: str | None,
                    reason: str) -> dict[str, bytes]:
    """Return document.json and revision.json of every document as the set takes effect."""
    files: dict[str, bytes] = {}
    for item in release.items:
        document = item.document
        if item.revision is not None:
            rev_json = revision_facts(item.revision, "effective", approver=approver,
                                      approved_at=approved_at,
                                      effective_date=release.effective_date.isoformat(),
                                      extra=_extra(item.revision, release))
            files.update(facts_files(item.revision, document_facts(
                document, "effective", item.revision.number), rev_json))
        else:
            current = effective_revision(document)
            rev_json = revision_facts(
                current, "obsolete", approver=current.approver,
                approved_at=local(current.approved_at) if current.approved_at else None,
                effective_date=current.effective_date.isoformat()
                if current.effective_date else None,
                extra={"abolished_by": release.decision_number, "withdrawn_reason": reason})
            files.update(facts_files(current, document_facts(document, "obsolete", None),
                                     rev_json))
    return files


def _reason(release: Release) -> str:
    return f"Bãi bỏ theo Quyết định số {release.decision_number}"


# -- release: the approver signs the decision ---------------------------------------------

def build_release(intent: Intent, payload: dict, actor: User | None) -> CommitSpec:
    """Return the commit of a signed decision: its set, in force now or approved for later."""
    release = _release(intent)
    approved_at = local(datetime.fromisoformat(payload["signed_at"]))
    takes_effect = payload["takes_effect"]
    folder = layout.release_dir(release.slug)
    scan = db.session.get(ReleaseScan, release.id)
    if takes_effect:
        files = _in_force_files(release, actor, approved_at, _reason(release))
    else:
        files = {}
        for item in release.items:
            if item.revision is None:
                continue   # abolished on the effective date, by release_effective
            previous = effective_revision(item.document)
            rev_json = revision_facts(item.revision, "approved", approver=actor,
                                      approved_at=approved_at,
                                      effective_date=release.effective_date.isoformat(),
                                      extra=_extra(item.revision, release))
            files.update(facts_files(item.revision, document_facts(
                item.document, "effective" if previous else "new",
                previous.number if previous else None), rev_json))
    for item in release.items:
        if item.revision is not None:
            files.update(source_files(item.revision))
    status = ReleaseStatus.EFFECTIVE if takes_effect else ReleaseStatus.APPROVED
    files[f"{folder}/{RELEASE_JSON}"] = as_json(release_facts(
        release, status, approver=actor, approved_at=approved_at, scan=scan))
    files[f"{folder}/{DECISION}"] = decision_docx(release)
    if scan is not None:
        files[f"{folder}/{SCAN}"] = scan.content
    issued = sum(1 for item in release.items if item.revision is not None)
    return CommitSpec(
        subject=f"Decision {release.decision_number}: issue {issued}, abolish "
                f"{len(release.items) - issued} \"{release.title}\"",
        body=None, files=files,
        trailers=_trailers(release, "release") + [("Approved-By", who(actor)),
                                                  ("Approved-At", approved_at)],
        tags=[(payload["tag"], f"{release.decision_number} signed {approved_at}")])


def _in_force(release: Release, at: datetime, actor: User | None, sha: str) -> None:
    """Put every revision of the release in force, abolish its documents, retire the old."""
    for item in release.items:
        if item.revision is not None:
            make_effective(item.revision, at, actor, sha)
    for item in release.items:
        if item.revision is None:
            current = effective_revision(item.document)
            withdrawn(current, release.approver, at, sha, _reason(release),
                      details={"release": release.id})
    release.status, release.effective_at = ReleaseStatus.EFFECTIVE, at
    if release.commit_sha is None:
        release.commit_sha = sha
    audit.record("release_effective", actor, object_type="release", object_id=str(release.id),
                 details={"decision": release.decision_number, "commit": sha})
    replaced = release.replaces
    if replaced is not None and replaced.status == ReleaseStatus.EFFECTIVE:
        replaced.status = ReleaseStatus.REPLACED
        audit.record("release_replaced", actor, object_type="release",
                     object_id=str(replaced.id),
                     details={"decision": replaced.decision_number,
                              "by": release.decision_number, "commit": sha})


def apply_release(intent: Intent, payload: dict, sha: str, actor: User | None) -> None:
    """Record the signature on every revision; put the set in force if its day has come."""
    release = _release(intent)
    at = datetime.fromisoformat(payload["signed_at"])
    # One flush at the end for forty documents, not one before each query (make_effective
    # flushes where the one-effective-revision index needs it).
    with db.session.no_autoflush:
        _apply_release(release, payload, sha, actor, at)


def _apply_release(release: Release, payload: dict, sha: str, actor: User | None,
                   at: datetime) -> None:
    for item in release.items:
        if item.revision is not None:
            approved(item.revision, actor, at, sha, payload, meaning=MEANING)
    release.approver, release.approved_at = actor, at
    release.commit_sha, release.tag = sha, payload["tag"]
    scan = db.session.get(ReleaseScan, release.id)
    if scan is not None:
        scan.commit_sha = sha
    audit.record("release_approved", actor, object_type="release", object_id=str(release.id),
                 details={"decision": release.decision_number, "commit": sha,
                          "effective_date": payload["effective_date"],
                          "items": len(release.items)})
    if payload["takes_effect"]:
        _in_force(release, at, actor, sha)
    else:
        release.status = ReleaseStatus.APPROVED


# -- release_effective: a signed decision's date has come ---------------------------------

def build_release_effective(intent: Intent, payload: dict, actor: User | None) -> CommitSpec:
    """Return the commit that puts a signed decision's set in force on its date."""
    release = _release(intent)
    approver = release.approver
    approved_at = local(release.approved_at) if release.approved_at else None
    files = _in_force_files(release, approver, approved_at, _reason(release))
    folder = layout.release_dir(release.slug)
    files[f"{folder}/{RELEASE_JSON}"] = as_json(release_facts(
        release, ReleaseStatus.EFFECTIVE, approver=approver, approved_at=approved_at,
        scan=db.session.get(ReleaseScan, release.id)))
    return CommitSpec(subject=f"Decision {release.decision_number}: in force",
                      body=None, files=files,
                      trailers=_trailers(release, "release_effective"))


def apply_release_effective(intent: Intent, payload: dict, sha: str,
                            actor: User | None) -> None:
    """Put the set in force."""
    with db.session.no_autoflush:
        _in_force(_release(intent), datetime.fromisoformat(payload["at"]), None, sha)


# -- release_scan: the signed scan, kept after the decision was signed --------------------

def build_release_scan(intent: Intent, payload: dict, actor: User | None) -> CommitSpec:
    """Return the commit that keeps a signed scan beside the generated decision."""
    release = _release(intent)
    scan = db.session.get(ReleaseScan, release.id)
    folder = layout.release_dir(release.slug)
    facts = release_facts(release, release.status, approver=release.approver,
                          approved_at=local(release.approved_at) if release.approved_at
                          else None, scan=scan)
    return CommitSpec(subject=f"Decision {release.decision_number}: signed scan kept",
                      body=None,
                      files={f"{folder}/{SCAN}": scan.content,
                             f"{folder}/{RELEASE_JSON}": as_json(facts)},
                      trailers=[("Docctl-Release", release.slug),
                                ("Docctl-Action", "release_scan"),
                                ("Scan-SHA256", scan.sha256), ("Added-By", who(actor))])


def apply_release_scan(intent: Intent, payload: dict, sha: str, actor: User | None) -> None:
    """Record that git holds the scan."""
    scan = db.session.get(ReleaseScan, intent.release_id)
    scan.commit_sha = sha


register("release", build=build_release, apply=apply_release)
register("release_effective", build=build_release_effective, apply=apply_release_effective)
register("release_scan", build=build_release_scan, apply=apply_release_scan)
