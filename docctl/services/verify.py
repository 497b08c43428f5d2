"""Check that git, the database and the signatures agree (docctl verify)."""

import hashlib
from datetime import timedelta

from sqlalchemy import func, select

from docctl.domain.lifecycle import CONTROLLED, Status
from docctl.errors import StoreError
from docctl.extensions import db
from docctl.models import Document, Intent, Revision, Signature
from docctl.services import audit, signatures
from docctl.services.context import now, store
from docctl.services.documents import document_dir
from docctl.store import layout


def run(*, fsck: bool = True) -> list[str]:
    """Return every inconsistency found; an empty list means all is well."""
    findings: list[str] = []
    gitstore = store()
    if fsck:
        findings += [f"git fsck: {problem}" for problem in gitstore.fsck()]
    tags = gitstore.tags()
    for revision in db.session.scalars(select(Revision).where(
            Revision.status.in_([s.value for s in CONTROLLED]))):
        findings += _check_revision(gitstore, tags, revision)
    counts = db.session.execute(select(Revision.document_id, func.count()).where(
        Revision.status == Status.EFFECTIVE).group_by(Revision.document_id)).all()
    for document_id, count in counts:
        if count > 1:
            findings.append(f"document {document_id}: {count} effective revisions")
    for document in db.session.scalars(select(Document).where(Document.status == "effective")):
        if not any(r.status == Status.EFFECTIVE for r in document.revisions):
            findings.append(f"{document.code}: catalog says effective but no revision is")
    for signature in db.session.scalars(select(Signature)):
        if not signatures.verifies(signature):
            findings.append(f"signature {signature.id} ({signature.meaning}, revision id "
                            f"{signature.revision_id}): seal does not verify")
    stale = now() - timedelta(minutes=5)
    for intent in db.session.scalars(select(Intent).where(Intent.state == "pending",
                                                          Intent.created_at <= stale)):
        findings.append(f"intent {intent.id} ({intent.kind}) unfinished since "
                        f"{intent.created_at.isoformat()}")
    findings += audit.verify_chain()
    return findings


def _check_revision(gitstore, tags: dict, revision: Revision) -> list[str]:
    where = f"{revision.document.code} r{revision.number}"
    if not revision.commit_sha:
        return [f"{where}: controlled revision without a commit"]
    try:
        data = gitstore.read_file(revision.commit_sha,
                                  f"{document_dir(revision.document)}/{layout.SOURCE}")
    except StoreError:
        return [f"{where}: commit {revision.commit_sha[:12]} or its file is missing from git"]
    found = []
    if hashlib.sha256(data).hexdigest() != revision.sha256:
        found.append(f"{where}: file in git does not match the recorded SHA-256")
    if revision.tag and tags.get(revision.tag) != revision.commit_sha:
        found.append(f"{where}: tag {revision.tag} is missing or points elsewhere")
    approvals = [s for s in revision.signatures if s.meaning == "approved"]
    if not approvals:
        found.append(f"{where}: no approval signature")
    for signature in approvals:
        if signature.content_sha256 != revision.sha256:
            found.append(f"{where}: approval signature {signature.id} is bound to other content")
    return found
