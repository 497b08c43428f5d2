"""Check that git, the database, the signatures and the audit trail agree (docctl verify)."""

import contextlib
import hashlib
import re
from collections import defaultdict
from datetime import timedelta

from sqlalchemy import func, select

from docctl.domain.lifecycle import CONTROLLED, Status
from docctl.domain.numbering import PREFIX, DocType
from docctl.errors import DocctlError
from docctl.extensions import db
from docctl.models import Document, Intent, Revision, Signature, User
from docctl.services import audit, reconcile, signatures
from docctl.services.context import now, store
from docctl.services.findings import Finding
from docctl.store import layout
from docctl.store.blobs import read_blobs

# Commit kinds whose trailers name a revision and the SHA-256 of its content ("review": a
# periodic review, no change, of the revision in force; services/plans/review.py).
_HASHED_ACTIONS = ("publish", "effective", "supersede", "review")
_SHA = re.compile(r"[0-9a-f]{40}")


def run(*, fsck: bool = True) -> list[str]:
    """Return every inconsistency found, as text; an empty list means all is well."""
    return [str(finding) for finding in check(fsck=fsck)]


def check(*, fsck: bool = True) -> list[Finding]:
    """Return every inconsistency found, each naming what failed; never raise."""
    findings: list[Finding] = []
    gitstore, found = _attempt("git", "the git store", store)
    findings += found
    if gitstore is not None:
        if fsck:
            findings += _guarded("git", "git fsck", lambda: [
                Finding("git", f"git fsck: {problem}") for problem in gitstore.fsck()])
        findings += _guarded("git", "the store's work tree", lambda: _stray(gitstore))
    revisions, found = _attempt("database", "the revisions in the database", _revisions)
    findings += found
    history, found = _attempt("git", "the history of the store's main branch",
                              gitstore.history) if gitstore is not None else (None, [])
    findings += found
    on_main = {info.sha for info in history} if history is not None else None
    anchors: dict = {}
    if revisions is not None and history is not None:
        behind, found = _attempt("database", "what git has that the database lacks",
                                 reconcile.db_behind, history)
        findings += found + [item.finding() for item in behind or ()]
        lacking = {item.sha for item in behind or ()}
        replayed, found = _attempt("audit", "the repairs recorded in the audit trail",
                                   reconcile.replayed_commits)
        findings += found
        by_key = {(r.code, r.number): r for r in revisions}
        result, found = _attempt("trailer", "the commits' trailers", _read_trailers,
                                 history, by_key, lacking, replayed or set())
        findings += found
        if result is not None:
            anchors, trailer_findings = result
            findings += trailer_findings
        findings += _guarded("git-behind", "what the database has that git lacks",
                             reconcile.git_behind, on_main)
    if revisions is not None and gitstore is not None:
        controlled = [r for r in revisions if r.status in CONTROLLED]
        findings += _guarded("revision", "the revisions' files in git", _check_revisions,
                             gitstore, controlled, on_main)
        findings += _guarded("tag", "the revisions' tags", _check_tags, gitstore, controlled)
    if revisions is not None:
        findings += _guarded("signature", "the signatures", _check_signatures,
                             {r.id: r for r in revisions})
    if gitstore is not None:
        from docctl.services import records_verify
        findings += _guarded("record", "the records in git", records_verify.check, gitstore,
                             on_main)
    findings += _guarded("catalog", "the catalog", _check_catalog)
    findings += _guarded("audit", "the audit trail", audit.verify_chain, anchors)
    return findings


def describe(exc: BaseException) -> str:
    """Return one line naming what went wrong, with git's or the database's own words."""
    if isinstance(exc, DocctlError):
        text = str(exc.message)
        if exc.details.get("path"):
            text += f" ({exc.details['path']})"
        stderr = str(exc.details.get("stderr") or "").strip()
        if stderr:
            text += f": {stderr.splitlines()[-1]}"
    else:
        first = (str(exc).strip().splitlines() or [""])[0]
        text = f"{type(exc).__name__}: {first}" if first else type(exc).__name__
    return text[:400]


def _attempt(area: str, what: str, fn, *args):
    """Return (fn's result, []) or (None, [a finding saying what could not be checked])."""
    try:
        return fn(*args), []
    except Exception as exc:   # noqa: BLE001 (every failure becomes a finding)
        with contextlib.suppress(Exception):   # a dead connection cannot roll back either
            db.session.rollback()
        return None, [Finding(area, f"{what} could not be checked: {describe(exc)}")]


def _guarded(area: str, what: str, fn, *args) -> list[Finding]:
    result, found = _attempt(area, what, fn, *args)
    return found if result is None else list(result)


def _revisions() -> list:
    return db.session.execute(
        select(Revision.id, Revision.number, Revision.status, Revision.sha256,
               Revision.commit_sha, Revision.tag, Revision.media, Document.code,
               Document.slug, Document.doc_type).join(Document, Revision.document_id == Document.id)
        .order_by(Document.code, Revision.number)).all()


def _stray(gitstore) -> list[Finding]:
    """Report files in the work tree that no commit put there."""
    return [Finding("git", f"stray file in the store's work tree: {path}")
            for path in gitstore.stray_files()]


def _where(revision) -> str:
    return f"{revision.code} r{revision.number}"


def _read_trailers(history, by_key: dict, lacking: set[str],
                   replayed: set[str]) -> tuple[dict, list[Finding]]:
    """Collect Audit-Head anchors; check each commit's revision trailers against the DB.

    Commits the database lacks, or got back by a repair, anchor audit entries that were lost
    with the newer database (each replay records the anchor it could not keep): skip them.
    """
    anchors: dict[int, list[tuple[str, str]]] = defaultdict(list)
    found: list[Finding] = []
    for info in history:
        trailers = dict(info.trailers)
        if "Audit-Head" in trailers and info.sha not in lacking | replayed:
            anchor = audit.parse_anchor(trailers["Audit-Head"])
            if anchor is None:
                found.append(Finding("anchor", f"git commit {info.sha[:12]}: malformed "
                                               "Audit-Head trailer"))
            else:
                anchors[anchor[0]].append((anchor[1], info.sha))
        action, code = trailers.get("Docctl-Action"), trailers.get("Docctl-Document")
        if not action or not code or info.sha in lacking:
            continue                    # lacking commits have their own finding
        number = trailers.get("Docctl-Revision", "")
        revision = by_key.get((code, int(number))) if number.isdigit() else None
        label = f"{code} r{number}"
        if revision is None:
            found.append(Finding("trailer", f"git commit {info.sha[:12]} records {action} of "
                                            f"{label}, which the database does not have", code))
            continue
        if action == "publish" and revision.commit_sha != info.sha:
            found.append(Finding("trailer", f"{label}: git's publish commit is {info.sha[:12]} "
                                            f"but the database records "
                                            f"{(revision.commit_sha or 'none')[:12]}", code))
        if action in _HASHED_ACTIONS and trailers.get("Content-SHA256") != revision.sha256:
            found.append(Finding("trailer", f"{label}: Content-SHA256 of git commit "
                                            f"{info.sha[:12]} does not match the database",
                                 code))
    return anchors, found


def _source_path(revision) -> str:
    return f"{layout.document_dir(PREFIX[DocType(revision.doc_type)], revision.slug)}/" \
           f"{layout.source_name(revision.media)}"


def _check_revisions(gitstore, controlled: list, on_main: set[str] | None) -> list[Finding]:
    found: list[Finding] = []
    readable = []
    for revision in controlled:
        if not revision.commit_sha:
            found.append(Finding("revision", f"{_where(revision)}: controlled revision without "
                                             "a commit", revision.code))
        elif not _SHA.fullmatch(revision.commit_sha):
            found.append(Finding("revision", f"{_where(revision)}: malformed commit id",
                                 revision.code))
        else:
            readable.append(revision)
    # One spec per revision, in order: two rows claiming one commit must both be checked.
    blobs = read_blobs(gitstore, [(r.commit_sha, _source_path(r)) for r in readable])
    for revision, (commit, _path, data) in zip(readable, blobs, strict=True):
        if data is None:
            found.append(Finding("revision", f"{_where(revision)}: commit {commit[:12]} or its "
                                             "file is missing from git or unreadable",
                                 revision.code))
            continue
        if on_main is not None and commit not in on_main:
            found.append(Finding("revision", f"{_where(revision)}: commit {commit[:12]} is not "
                                             "on the store's main branch", revision.code))
        if hashlib.sha256(data).hexdigest() != revision.sha256:
            found.append(Finding("revision", f"{_where(revision)}: file in git does not match "
                                             "the recorded SHA-256", revision.code))
    return found


def _check_tags(gitstore, controlled: list) -> list[Finding]:
    found: list[Finding] = []
    tags = gitstore.tags()
    for revision in controlled:
        if revision.tag and tags.get(revision.tag) != revision.commit_sha:
            found.append(Finding("tag", f"{_where(revision)}: tag {revision.tag} is missing or "
                                        "points elsewhere", revision.code))
    return found


def _check_signatures(revisions: dict) -> list[Finding]:
    found: list[Finding] = []
    approvals: dict[int, list] = defaultdict(list)
    rows = db.session.execute(select(
        Signature.id, Signature.revision_id, Signature.user_id, Signature.meaning,
        Signature.signed_at, Signature.content_sha256, Signature.seal, User.username)
        .outerjoin(User, Signature.user_id == User.id).order_by(Signature.id))
    for signature in rows:
        revision = revisions.get(signature.revision_id)
        where = _where(revision) if revision else f"revision id {signature.revision_id}"
        code = revision.code if revision else None
        if not signatures.verifies(signature):
            found.append(Finding("signature", f"signature {signature.id} ({signature.meaning} by "
                                              f"{signature.username}) on {where}: seal does not "
                                              "verify (altered or moved)", code))
        # An imported revision's accountable signature is the importer's ("imported"):
        # its approval happened outside docctl and is recorded as text, never as a signature.
        if signature.meaning in (*signatures.APPROVING, "imported"):
            approvals[signature.revision_id].append(signature)
    for revision in revisions.values():
        if revision.status not in CONTROLLED:
            continue
        signed = approvals.get(revision.id, [])
        if not signed:
            found.append(Finding("signature", f"{_where(revision)}: no approval signature",
                                 revision.code))
        for signature in signed:
            if signature.content_sha256 != revision.sha256:
                found.append(Finding("signature", f"{_where(revision)}: approval signature "
                                                  f"{signature.id} is bound to other content",
                                     revision.code))
    return found


def _check_catalog() -> list[Finding]:
    found: list[Finding] = []
    counts = db.session.execute(select(Document.code, func.count()).join(
        Revision, Revision.document_id == Document.id).where(
        Revision.status == Status.EFFECTIVE).group_by(Document.code)).all()
    for code, count in counts:
        if count > 1:
            found.append(Finding("catalog", f"{code}: {count} effective revisions", code))
    effective = {code for code, _count in counts}
    for code in db.session.scalars(select(Document.code).where(Document.status == "effective")):
        if code not in effective:
            found.append(Finding("catalog", f"{code}: catalog says effective but no revision is",
                                 code))
    stale = now() - timedelta(minutes=5)
    for intent in db.session.scalars(select(Intent).where(Intent.state == "pending",
                                                          Intent.created_at <= stale)):
        found.append(Finding("intent", f"intent {intent.id} ({intent.kind}) unfinished since "
                                       f"{intent.created_at.isoformat()}"))
    return found
