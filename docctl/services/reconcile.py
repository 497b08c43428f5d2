"""Git and the database out of step (a restore of mismatched copies): find, refuse, replay."""

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from docctl import dbengine
from docctl.domain.lifecycle import Status
from docctl.errors import Conflict, DocctlError, StoreError
from docctl.extensions import db
from docctl.models import (
    AuditEvent,
    Document,
    Intent,
    IntentDocument,
    Revision,
    Signature,
    User,
)
from docctl.services import audit, signatures
from docctl.services.context import store
from docctl.services.findings import Finding
from docctl.store import layout

_USERNAME = re.compile(r"<([^<>\s]{1,64})>\s*$")
_REPLAYED = ("publish", "effective", "supersede", "withdraw")
# Commits a repair leaves to a person, each with what to do instead (later ones still replay).
_NOT_REPLAYED = {"review": "the periodic review (no change) is recorded in git; confirm it "
                           "again on the document's page to bring its review dates back"}


@dataclass(frozen=True)
class Missing:
    """A commit git has whose change the database lacks."""

    sha: str
    document: str
    revision: str
    action: str
    intent: str
    audit_head: str | None = None

    def finding(self) -> Finding:
        return Finding("db-behind", f"git commit {self.sha[:12]} records {self.action} of "
                                    f"{self.document} r{self.revision}, which the database "
                                    "lacks (database older than git?): `docctl verify "
                                    "--repair` replays it", self.document)


def db_behind(history) -> list[Missing]:
    """Return, oldest first, the docctl commits on main whose intent the database never did."""
    known = {row.id: (row.state, row.commit_sha) for row in db.session.execute(
        select(Intent.id, Intent.state, Intent.commit_sha))}
    missing = []
    for info in reversed(history):
        trailers = dict(info.trailers)
        intent, action = trailers.get("Docctl-Intent"), trailers.get("Docctl-Action")
        if not intent or not action:
            continue
        state, sha = known.get(intent, (None, None))
        if state == "pending":
            continue                    # in flight now, or left for recovery to finish
        if state != "done" or sha != info.sha:
            missing.append(Missing(info.sha, trailers.get("Docctl-Document", "?"),
                                   trailers.get("Docctl-Revision", "?"), action, intent,
                                   trailers.get("Audit-Head")))
    return missing


def replayed_commits() -> set[str]:
    """Return the commits a repair replayed, as the audit trail records them."""
    found = set()
    for details in db.session.scalars(select(AuditEvent.details).where(
            AuditEvent.action == "replayed_from_git")):
        commit = json.loads(details or "{}").get("commit")
        if isinstance(commit, str):
            found.add(commit)
    return found


def git_behind(on_main: set[str]) -> list[Finding]:
    """Return a finding for each finished change whose commit is not on git's main branch."""
    rows = db.session.execute(
        select(Intent.kind, Intent.commit_sha, Document.code, Revision.number)
        .outerjoin(Document, Intent.document_id == Document.id)
        .outerjoin(Revision, Intent.revision_id == Revision.id)
        .where(Intent.state == "done", Intent.commit_sha.is_not(None))
        .order_by(Intent.finished_at))
    return [Finding("git-behind", f"the database records {row.kind} of "
                                  f"{_what(row.code, row.number)} at git commit "
                                  f"{row.commit_sha[:12]}, which the git store does not "
                                  "have (git older than the database?)",
                    row.code)
            for row in rows if row.commit_sha not in on_main]


def _what(code: str | None, number: int | None) -> str:
    if code is None:
        return "several documents"   # a release names its documents in intent_document
    return f"{code} r{number}" if number is not None else code


def ensure_in_step() -> None:
    """Refuse to write to git when git and the database disagree about the newest change."""
    gitstore = store()
    head = gitstore.head()
    last = db.session.scalar(
        select(Intent.commit_sha).where(Intent.state == "done", Intent.commit_sha.is_not(None))
        .order_by(Intent.finished_at.desc()).limit(1))
    # Commits never leave a running store: what was confirmed once needs no git call again.
    confirmed = current_app.extensions.setdefault("docctl.in_step", set())
    if last == head or (last, head) in confirmed:
        return                          # the usual case: nothing to ask git
    if last is not None:
        try:
            gitstore.commit_info(last)
        except StoreError:
            raise Conflict(_l("The document store is older than the database (restored from "
                              "different backups?). Publishing is stopped until an "
                              "administrator runs docctl verify and restores a matching "
                              "backup.")) from None
    intent = dict(gitstore.commit_info(head).trailers).get("Docctl-Intent")
    if intent and not _intent_exists(intent):
        raise Conflict(_l("The document store holds approvals the database lacks (restored "
                          "from an older backup?). Publishing is stopped until an "
                          "administrator runs docctl verify --repair."))
    if len(confirmed) > 1000:
        confirmed.clear()
    confirmed.add((last, head))


def _intent_exists(intent_id: str) -> bool:
    """Ask on a fresh connection: the caller's transaction may predate another's intent."""
    # A read-only transaction: the caller may hold SQLite's write lock already.
    with dbengine.immediate(False), db.engine.connect() as connection:
        return connection.execute(select(Intent.id).where(Intent.id == intent_id)).first() \
            is not None


def repair(progress=lambda _line: None) -> tuple[int, list[Finding]]:
    """Replay every commit the database lacks, one transaction each; return (done, problems)."""
    from docctl.services import publishing
    done, problems = 0, []
    for item in db_behind(store().history()):
        if item.action in _NOT_REPLAYED:
            problems.append(Finding("repair", f"git commit {item.sha[:12]}: {item.action} of "
                                              f"{item.document} r{item.revision} is not "
                                              f"replayed: {_NOT_REPLAYED[item.action]}",
                                    item.document))
            continue
        if item.action not in _REPLAYED:
            problems.append(Finding("repair", f"git commit {item.sha[:12]}: action "
                                              f"{item.action} cannot be replayed", item.document))
            continue
        try:
            intent = _intent_for(item)
            audit.record("replayed_from_git", None, object_type="intent", object_id=intent.id,
                         details={"commit": item.sha, "action": item.action,
                                  "document": item.document, "revision": item.revision,
                                  # The trail this commit anchored was lost with the newer DB.
                                  "lost_audit_head": item.audit_head})
            publishing.finish(intent, item.sha)     # commits the whole replay at once
        except (DocctlError, ValueError, KeyError) as exc:
            db.session.rollback()
            problems.append(Finding("repair", f"git commit {item.sha[:12]} ({item.action} of "
                                              f"{item.document} r{item.revision}) could not be "
                                              f"replayed: {getattr(exc, 'message', exc)}",
                                    item.document))
            break                       # later commits build on this one: stop here
        done += 1
        progress(f"replayed {item.action} of {item.document} r{item.revision} "
                 f"({item.sha[:12]})")
    return done, problems


def _utc(moment: str) -> str:
    """Return a trailer's local time in UTC, as the database keeps it (seals include it)."""
    return datetime.fromisoformat(moment).astimezone(UTC).isoformat()


def _user(value: str | None) -> User:
    match = _USERNAME.search(value or "")
    user = db.session.scalar(select(User).where(User.username == match.group(1))) \
        if match else None
    if user is None:
        raise ValueError(f"the user {value!r} is not in the database")
    return user


def _intent_for(item: Missing) -> Intent:
    """Build the intent the lost database change would have had, from the commit's facts."""
    gitstore = store()
    info = gitstore.commit_info(item.sha)
    trailers = dict(info.trailers)
    document = db.session.scalar(select(Document).where(Document.code == item.document))
    if document is None:
        raise ValueError(f"the document {item.document} is not in the database; "
                         "register it, then run the repair again")
    from docctl.services.documents import document_dir
    folder = document_dir(document)
    facts = json.loads(gitstore.read_file(item.sha, f"{folder}/{layout.REVISION_JSON}"))
    revision = db.session.scalar(select(Revision).where(
        Revision.document_id == document.id, Revision.number == int(item.revision)))
    if item.action == "publish":
        revision = _ready_to_approve(document, revision, facts, trailers, folder, item.sha)
        approver = _user(trailers.get("Approved-By"))
        payload = {"signer_id": approver.id, "signed_at": _utc(trailers["Approved-At"]),
                   "effective_date": trailers["Effective-Date"],
                   "takes_effect": facts.get("status") == "effective",
                   "tag": layout.revision_tag(document.slug, revision.number)}
    elif revision is None:
        raise ValueError(f"{item.document} r{item.revision} is not in the database")
    elif item.action == "withdraw":
        payload = {"signer_id": _user(trailers.get("Withdrawn-By")).id,
                   "signed_at": _utc(trailers["Withdrawn-At"]),
                   "reason": trailers.get("Reason-For-Change", "")}
    else:
        payload = {"at": info.authored_at.isoformat()}
    kind = {"effective": "take_effect", "supersede": "take_effect"}.get(item.action,
                                                                       item.action)
    intent = db.session.get(Intent, item.intent)
    if intent is None:
        intent = Intent(id=item.intent, kind=kind, document_id=document.id,
                        revision_id=revision.id, expected_head=item.sha, state="pending",
                        created_at=info.authored_at)
        db.session.add(intent)
        db.session.add(IntentDocument(intent_id=item.intent, document_id=document.id))
    intent.payload = json.dumps(payload)
    intent.state, intent.kind = "pending", kind
    db.session.flush()
    return intent


def _ready_to_approve(document, revision, facts, trailers, folder, sha) -> Revision:
    """Return the revision, created from git's facts if the database never had it."""
    gitstore = store()
    if revision is None:
        text = gitstore.read_file(sha, f"{folder}/{layout.CONTENT}").decode("utf-8")
        revision = Revision(document_id=document.id, number=int(facts["revision"]),
                            reason=facts.get("reason") or "", filename=facts["filename"],
                            size=int(facts["size"]), sha256=facts["sha256"], text=text,
                            # Stores written before issue #10 hold no numbers: issue = r.
                            issue=int(facts.get("issue") or facts["revision"]),
                            amendment=int(facts.get("amendment") or 0),
                            author_id=_user(facts.get("prepared_by")).id,
                            created_at=datetime.now(UTC))
        db.session.add(revision)
    if revision.sha256 != trailers.get("Content-SHA256"):
        raise ValueError("the database's file of this revision differs from git's")
    # Git holds the approval: the review the old database had not finished did happen.
    revision.status = Status.AWAITING_APPROVAL
    revision.approver_id = _user(trailers.get("Approved-By")).id
    db.session.flush()
    have = {(s.user_id, s.meaning, s.content_sha256) for s in db.session.scalars(
        select(Signature).where(Signature.revision_id == revision.id))}
    for signed in facts.get("signatures", []):
        user = _user(f"<{signed['user']}>")
        if (user.id, signed["meaning"], signed["content_sha256"]) in have:
            continue
        at = datetime.fromisoformat(signed["signed_at"])
        row = signatures.build(user, revision, signed["meaning"], at, signed["method"])
        row.signer_name, row.content_sha256 = signed["name"], signed["content_sha256"]
        row.seal = signatures.seal_for(user_id=user.id, meaning=row.meaning, signed_at=at,
                                       revision_id=revision.id,
                                       content_sha256=row.content_sha256)
        db.session.add(row)
    return revision
