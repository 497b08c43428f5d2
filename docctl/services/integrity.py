"""Run verify on behalf of someone, keep its outcome, and say per document what it found."""

import contextlib
import json
from time import perf_counter

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from docctl import dbengine
from docctl.extensions import db
from docctl.models import Document, User, VerificationRun
from docctl.services import audit, verify
from docctl.services.context import now, zone
from docctl.services.findings import Finding

# A run with thousands of findings is one broken store: keep enough to name the problem.
KEEP_FINDINGS = 1000


def run_and_record(actor: User | None, *, fsck: bool = True) -> tuple[VerificationRun | None,
                                                                     list[Finding]]:
    """Run every check, store the outcome and record the run in the audit trail.

    The run is None when the database could not record it; that is itself a finding.
    """
    started = perf_counter()
    # Checks only read: on SQLite they must not hold the write lock the server's users need.
    with dbengine.reading():
        findings = verify.check(fsck=fsck)
        with contextlib.suppress(Exception):
            db.session.rollback()   # end the read snapshot; recording the run takes the lock
    try:
        run = _record(actor, findings, fsck, int((perf_counter() - started) * 1000))
    except Exception as exc:   # noqa: BLE001 (a broken database is reported, not raised)
        with contextlib.suppress(Exception):
            db.session.rollback()
        findings = [*findings, Finding("database", "the verification run could not be "
                                                   "recorded: " + verify.describe(exc))]
        return None, findings
    return run, findings


def _record(actor, findings: list[Finding], fsck: bool, duration_ms: int) -> VerificationRun:
    run = VerificationRun(
        at=now(), actor_id=getattr(actor, "id", None), ok=not findings,
        findings_count=len(findings),
        findings=json.dumps([f.as_dict() for f in findings[:KEEP_FINDINGS]],
                            ensure_ascii=False),
        duration_ms=duration_ms)
    db.session.add(run)
    db.session.flush()
    areas: dict[str, int] = {}
    for finding in findings:
        areas[finding.area] = areas.get(finding.area, 0) + 1
    audit.record("verified", actor, object_type="verification", object_id=str(run.id),
                 details={"ok": run.ok, "findings": len(findings), "areas": areas,
                          "fsck": fsck, "duration_ms": run.duration_ms})
    db.session.commit()
    return run


def last_run() -> VerificationRun | None:
    """Return the newest verification run, if any."""
    return db.session.scalar(select(VerificationRun).order_by(VerificationRun.id.desc())
                             .limit(1))


def run_findings(run: VerificationRun) -> list[Finding]:
    """Return the findings a run stored."""
    return [Finding(**item) for item in json.loads(run.findings or "[]")]


def integrity_badge(document: Document, run: VerificationRun | None = None) -> dict:
    """Return what the last verification says about one document, for a badge."""
    run = run if run is not None else last_run()
    if run is None:
        return {"state": "unchecked", "at": None, "run_id": None, "findings": [],
                "label": str(_l("Not verified yet"))}
    # A finding without a document (git fsck, the audit chain) puts every document in doubt.
    concerned = [f.message for f in run_findings(run)
                 if f.document is None or f.document == document.code]
    when = run.at.astimezone(zone()).strftime("%d/%m/%Y %H:%M")
    if concerned or (not run.ok and run.findings_count > KEEP_FINDINGS):
        return {"state": "problem", "at": run.at, "run_id": run.id, "findings": concerned,
                "label": str(_l("Problem found (check of %(when)s)", when=when))}
    return {"state": "verified", "at": run.at, "run_id": run.id, "findings": [],
            "label": str(_l("Verified at %(when)s", when=when))}
