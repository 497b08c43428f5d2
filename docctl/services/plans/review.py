"""Plan of a periodic review confirmed "reviewed, no change": one commit, no new revision."""

from __future__ import annotations

from datetime import date, datetime

from docctl.extensions import db
from docctl.models import Document, Intent, Revision, User
from docctl.services import audit, signatures
from docctl.services.documents import document_dir
from docctl.services.gitfacts import as_json, document_facts, local, who
from docctl.services.plans import CommitSpec, register
from docctl.store import layout

KIND = "review"
MEANING = "periodic_review"
OUTCOME = "no-change"


def _rows(intent: Intent) -> tuple[Document, Revision]:
    revision = db.session.get(Revision, intent.revision_id)
    return revision.document, revision


def review_trailers(document: Document, revision: Revision, payload: dict,
                    actor: User | None) -> list[tuple[str, str]]:
    """Return the trailers of a review: whose, when, what it found and when the next is due."""
    trailers = [("Docctl-Document", document.code), ("Docctl-Revision", str(revision.number)),
                ("Docctl-Action", KIND), ("Reviewed-By", who(actor)),
                ("Reviewed-At", local(datetime.fromisoformat(payload["signed_at"]))),
                ("Review-Outcome", OUTCOME),
                ("Next-Review-Date", payload["next_review_date"]),
                ("Content-SHA256", revision.sha256)]
    if payload.get("comment"):
        trailers.append(("Comment", payload["comment"]))
    return trailers


def build(intent: Intent, payload: dict, actor: User | None) -> CommitSpec:
    """Return the commit of a review: document.json with its new review dates."""
    document, revision = _rows(intent)
    facts = document_facts(document, "effective", revision.number)
    facts.update(reviewed_on=payload["reviewed_on"],
                 next_review_date=payload["next_review_date"])
    files = {f"{document_dir(document)}/{layout.DOCUMENT_JSON}": as_json(facts)}
    return CommitSpec(subject=f'{document.code} r{revision.number}: periodic review, no change '
                              f'"{document.title}"',
                      body=payload.get("comment") or None, files=files,
                      trailers=review_trailers(document, revision, payload, actor))


def apply(intent: Intent, payload: dict, sha: str, actor: User | None) -> None:
    """Move the due date on, sign the revision in force "periodic review", and say so."""
    document, revision = _rows(intent)
    at = datetime.fromisoformat(payload["signed_at"])
    document.reviewed_on = date.fromisoformat(payload["reviewed_on"])
    document.next_review_date = date.fromisoformat(payload["next_review_date"])
    db.session.add(signatures.build(actor, revision, MEANING, at, "password"))
    audit.record("periodic_review_confirmed", actor, document=document, revision=revision,
                 details={"commit": sha, "outcome": OUTCOME,
                          "reviewed_on": payload["reviewed_on"],
                          "next_review_date": payload["next_review_date"],
                          "previous_due": payload.get("previous_due")},
                 reason=payload.get("comment") or None)


register(KIND, build=build, apply=apply)
