"""Management review (ISO 9001 §9.3; xem xét của lãnh đạo): a draft with the §9.3.2 inputs
gathered, the texts the secretary completes, decisions as tracked actions, approved minutes.

Who may do what:
- open, edit the draft, add decisions/actions: the ISO secretary (Perm.MANAGE_IMPROVEMENT);
- close (approve the minutes): the head of agency (Perm.APPROVE), with their password. The
  review is top management's (§9.3.1: "top management shall review"); the secretary prepares
  it, the head signs what was concluded, as on paper minutes;
- mark an action done: its owner or the secretary, also after the review is closed (actions
  are tracked until done; the next review reads their status);
- read: the secretary, approvers and auditors; an action's owner reads its review.
Closing files the minutes as a record; after that the review itself never changes.
"""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from docctl.domain.improvement import (
    REVIEW_SECTIONS,
    ActionStatus,
    FindingKind,
    NcStatus,
    ReviewStatus,
    Step,
    is_overdue,
    review_next,
)
from docctl.domain.lifecycle import CONTROLLED
from docctl.domain.permissions import Perm, has_perm
from docctl.errors import Conflict, Forbidden, InvalidTransition, NotFound, ValidationError
from docctl.extensions import db
from docctl.models import Document, Revision, User
from docctl.models_improvement import ManagementReview, ReviewAction
from docctl.office import improvement_reports as reports
from docctl.services import (
    audit,
    audits,
    documents,
    nonconformities,
    organisation,
    publishing,
    signatures,
)
from docctl.services import improvement_base as base
from docctl.services.context import now, today, zone

OBJECT_TYPE = "management_review"
FIELDS = {"review_date", "title", "period_start", "period_end", "attendees"}
NOT_FOUND = _l("No such management review")
CLOSED = _l("This management review is closed: its minutes are filed and nothing on it "
            "changes")


# --- reading --------------------------------------------------------------------------------

def may_see(user: User, item: ManagementReview) -> bool:
    """Tell whether the user may read this review."""
    return base.reads_all(user) or any(a.owner_id == user.id for a in item.actions)


def get(actor: User, review_id) -> ManagementReview:
    """Return a review the actor may read, or raise NotFound."""
    item = base.get_row(ManagementReview, review_id, NOT_FOUND)
    if not may_see(actor, item):
        raise NotFound(NOT_FOUND)
    return item


def list_reviews(actor: User) -> list[ManagementReview]:
    """Return the reviews the actor may read, newest first."""
    query = select(ManagementReview).options(selectinload(ManagementReview.actions))
    if not base.reads_all(actor):
        mine = select(ReviewAction.review_id).where(ReviewAction.owner_id == actor.id)
        query = query.where(ManagementReview.id.in_(mine))
    return list(db.session.scalars(query.order_by(ManagementReview.review_date.desc(),
                                                  ManagementReview.id.desc())))


def inputs(item: ManagementReview) -> dict:
    """Return the facts gathered into the review's draft."""
    return json.loads(item.inputs or "{}")


def texts(item: ManagementReview) -> dict[str, str]:
    """Return the review's text per section, every section present."""
    stored = json.loads(item.texts or "{}")
    return {name: stored.get(name, "") for name in REVIEW_SECTIONS}


# --- gathering the §9.3.2 inputs ------------------------------------------------------------

def _local(moment: datetime | None) -> date | None:
    return moment.astimezone(zone()).date() if moment else None


def _bounds(start: date, end: date) -> tuple[datetime, datetime]:
    return (datetime.combine(start, time(0), tzinfo=zone()),
            datetime.combine(end + timedelta(days=1), time(0), tzinfo=zone()))


def _changes(start: date, end: date) -> dict:
    """Return the documents issued and withdrawn in a period, from the catalog."""
    first, after = _bounds(start, end)
    issued = db.session.execute(
        select(Document, Revision).join(Revision, Revision.document_id == Document.id)
        .where(Revision.status.in_(sorted(str(s) for s in CONTROLLED)),
               Revision.effective_date >= start, Revision.effective_date <= end)
        .order_by(Revision.effective_date, Document.code)).all()
    withdrawn = db.session.scalars(
        select(Document).where(Document.withdrawn_at >= first, Document.withdrawn_at < after)
        .order_by(Document.withdrawn_at, Document.code)).all()
    return {"issued": [{"code": d.code, "title": d.title, "label": documents.label(r),
                        "revision": r.number, "effective_date": r.effective_date.isoformat()}
                       for d, r in issued],
            "withdrawn": [{"code": d.code, "title": d.title,
                           "withdrawn_on": _local(d.withdrawn_at).isoformat()}
                          for d in withdrawn]}


def _previous_actions(item: ManagementReview, start: date) -> list[dict]:
    """Return the actions of earlier reviews: still open, or done since the period began."""
    first, _after = _bounds(start, start)
    rows = db.session.scalars(
        select(ReviewAction).join(ManagementReview)
        .where(ManagementReview.id != (item.id or -1),
               ManagementReview.review_date <= item.review_date)
        .options(joinedload(ReviewAction.owner), joinedload(ReviewAction.review))
        .order_by(ReviewAction.due_date, ReviewAction.id)).unique().all()
    day = today()
    return [{"id": a.id, "review": a.review_id, "review_date": a.review.review_date.isoformat(),
             "description": a.description, "owner": a.owner.display_name,
             "due_date": a.due_date.isoformat(), "status": a.status,
             "overdue": a.status == ActionStatus.OPEN and a.due_date < day,
             "done_on": _local(a.done_at).isoformat() if a.done_at else None}
            for a in rows if a.status == ActionStatus.OPEN or (a.done_at and a.done_at >= first)]


def gather(item: ManagementReview) -> dict:
    """Return the §9.3.2 inputs docctl knows for the review's period."""
    start, end = item.period_start, item.period_end
    audit_rows = [{"id": a.id, "title": a.title, "start_date": a.start_date.isoformat(),
                   "status": a.status,
                   "findings": {k.value: sum(1 for f in a.findings if f.kind == k)
                                for k in FindingKind}}
                  for a in audits.in_period(start, end)]
    day = today()
    ncs = [{"id": n.id, "number": nonconformities.number(n), "source": n.source,
            "description": n.description, "status": n.status,
            "owner": n.owner.display_name if n.owner else None,
            "due_date": n.due_date.isoformat() if n.due_date else None,
            "overdue": is_overdue(n.status, n.due_date, day),
            "effective": n.effective,
            "closed_on": _local(n.closed_at).isoformat() if n.closed_at else None}
           for n in nonconformities.raised_between(start, end)]
    counts = {"total": len(ncs),
              "closed": sum(1 for n in ncs if n["status"] == NcStatus.CLOSED),
              "open": sum(1 for n in ncs if n["status"] != NcStatus.CLOSED),
              "overdue": sum(1 for n in ncs if n["overdue"])}
    return {"gathered_on": day.isoformat(), "period": [start.isoformat(), end.isoformat()],
            "previous_actions": _previous_actions(item, start), "audits": audit_rows,
            "nonconformities": ncs, "nonconformity_counts": counts,
            "changes": _changes(start, end)}


def _dmy(iso: str | None) -> str:
    return date.fromisoformat(iso).strftime("%d/%m/%Y") if iso else "—"


def draft_texts(facts: dict) -> dict[str, str]:
    """Return the Vietnamese summary each gathered input starts with in the draft."""
    done = {"open": "đang thực hiện", "done": "đã hoàn thành"}
    lines = {"previous_actions": [
        f"- {a['description']} ({a['owner']}, hạn {_dmy(a['due_date'])}): "
        f"{done.get(a['status'], a['status'])}{', quá hạn' if a['overdue'] else ''}"
        for a in facts["previous_actions"]] or ["Không có hành động nào từ các lần xem xét "
                                                "trước."]}
    lines["audit_results"] = [
        f"- {a['title']} ({_dmy(a['start_date'])}): {a['findings']['nonconformity']} điểm "
        f"không phù hợp, {a['findings']['observation']} khuyến nghị, "
        f"{a['findings']['conformity']} điểm phù hợp" for a in facts["audits"]] or [
        "Trong kỳ không có cuộc đánh giá nội bộ nào."]
    counts = facts["nonconformity_counts"]
    lines["nonconformities"] = [
        f"Tổng số {counts['total']} sự không phù hợp: {counts['closed']} đã đóng, "
        f"{counts['open']} đang xử lý, trong đó {counts['overdue']} quá hạn."] + [
        f"- {n['number']}: {n['description'].splitlines()[0][:200]}" for n in
        facts["nonconformities"]]
    changes = facts["changes"]
    lines["changes"] = [f"- Ban hành {c['code']} {c['title']} (lần {c['label']}, hiệu lực "
                        f"{_dmy(c['effective_date'])})" for c in changes["issued"]] + [
        f"- Hủy bỏ {c['code']} {c['title']} ({_dmy(c['withdrawn_on'])})"
        for c in changes["withdrawn"]]
    if not lines["changes"]:
        lines["changes"] = ["Trong kỳ không có tài liệu nào được ban hành hoặc hủy bỏ."]
    return {name: "\n".join(text) for name, text in lines.items()}


# --- actions --------------------------------------------------------------------------------

def _check_fields(data: dict, allowed: set[str]) -> None:
    unknown = set(data) - allowed
    if unknown:
        raise ValidationError(_l("Unknown or read-only fields: %(f)s",
                                 f=", ".join(sorted(unknown))), fields=sorted(unknown))


def _period(item: ManagementReview) -> None:
    if item.period_start > item.period_end:
        raise ValidationError(_l("The period cannot end before it starts"), field="period_end")


def _default_start(review_date: date) -> date:
    """Return the day after the latest earlier review's period, else 1 January."""
    last = db.session.scalar(select(ManagementReview.period_end)
                             .where(ManagementReview.review_date < review_date)
                             .order_by(ManagementReview.period_end.desc()).limit(1))
    return last + timedelta(days=1) if last else date(review_date.year, 1, 1)


def open_review(actor: User, data: dict) -> ManagementReview:
    """Open a review for a date: gather its inputs into a draft the secretary completes."""
    base.require_manage(actor)
    _check_fields(data, FIELDS)
    on = base.day(data.get("review_date"), "review_date", required=True)
    item = ManagementReview(review_date=on, status=ReviewStatus.DRAFT,
                            created_by_id=actor.id, created_at=now())
    item.title = base.line(data.get("title"), "title") or f"Xem xét của lãnh đạo năm {on.year}"
    item.period_start = base.day(data.get("period_start"), "period_start") or _default_start(on)
    item.period_end = base.day(data.get("period_end"), "period_end") or on
    item.attendees = base.text(data.get("attendees"), "attendees")
    _period(item)
    try:
        facts = gather(item)
        item.inputs = json.dumps(facts, ensure_ascii=False, sort_keys=True)
        item.texts = json.dumps(draft_texts(facts), ensure_ascii=False, sort_keys=True)
        db.session.add(item)
        db.session.flush()
        audit.record("improvement_review_opened", actor, object_type=OBJECT_TYPE,
                     object_id=str(item.id),
                     details={"review": item.id, "review_date": on,
                              "period": [item.period_start, item.period_end],
                              "audits": len(facts["audits"]),
                              "nonconformities": facts["nonconformity_counts"]})
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return item


def _locked(actor: User, review_id) -> ManagementReview:
    item = publishing.locked_row(get(actor, review_id))
    if item.status != ReviewStatus.DRAFT:
        base.refuse_final(CLOSED)
    return item


def update(actor: User, review_id, data: dict) -> ManagementReview:
    """Complete the draft: texts per section, date, period, attendees; refresh the inputs."""
    base.require_manage(actor)
    _check_fields(data, FIELDS | {"texts", "refresh_inputs"})
    given = data.get("texts")
    if given is not None and (not isinstance(given, dict) or set(given) - set(REVIEW_SECTIONS)):
        raise ValidationError(_l("texts must map sections (%(names)s) to text",
                                 names=", ".join(REVIEW_SECTIONS)), field="texts")
    item = _locked(actor, review_id)
    try:
        changed = sorted(set(data) - {"texts"})
        if "review_date" in data:
            item.review_date = base.day(data["review_date"], "review_date", required=True)
        if "title" in data:
            item.title = base.line(data["title"], "title", required=True)
        for name in ("period_start", "period_end"):
            if name in data:
                setattr(item, name, base.day(data[name], name, required=True))
        if "attendees" in data:
            item.attendees = base.text(data["attendees"], "attendees")
        _period(item)
        current = texts(item)
        for name, value in (given or {}).items():
            current[name] = base.text(value, name)
        item.texts = json.dumps(current, ensure_ascii=False, sort_keys=True)
        if data.get("refresh_inputs") is True:
            item.inputs = json.dumps(gather(item), ensure_ascii=False, sort_keys=True)
        audit.record("improvement_review_updated", actor, object_type=OBJECT_TYPE,
                     object_id=str(item.id),
                     details={"review": item.id, "fields": changed,
                              "texts": sorted(given or {})})
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return item


def add_action(actor: User, review_id, data: dict) -> ReviewAction:
    """Record a decision/action of the review: what, who, by when."""
    base.require_manage(actor)
    _check_fields(data, {"description", "owner", "due_date"})
    description = base.text(data.get("description"), "description", required=True,
                            message=_l("Say what is to be done"))
    owner = base.person(data.get("owner"), "owner")
    due = base.day(data.get("due_date"), "due_date", required=True)
    item = _locked(actor, review_id)
    try:
        action = ReviewAction(review=item, description=description, owner_id=owner.id,
                              due_date=due, status=ActionStatus.OPEN)
        db.session.add(action)
        db.session.flush()
        audit.record("improvement_review_action_added", actor, object_type=OBJECT_TYPE,
                     object_id=str(item.id),
                     details={"review": item.id, "action": action.id, "owner": owner.id,
                              "due_date": due, "description": description})
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return action


def set_action(actor: User, review_id, action_id, data: dict) -> ReviewAction:
    """Mark a review's action done (its owner or the secretary), with a note."""
    _check_fields(data, {"status", "note"})
    item = get(actor, review_id)
    action = next((a for a in item.actions if a.id == base.key(action_id)), None)
    if action is None:
        raise NotFound(_l("No such action on this review"))
    if not (base.manages(actor) or actor.id == action.owner_id):
        raise Forbidden(_l("Only the owner of the action or the ISO secretary can do this"))
    if data.get("status") != ActionStatus.DONE:
        raise ValidationError(_l("status must be done"), field="status")
    note = base.text(data.get("note"), "note")
    action = publishing.locked_row(action)
    try:
        if action.status == ActionStatus.DONE:
            raise Conflict(_l("This action is already done"))
        action.status, action.note = ActionStatus.DONE, note
        action.done_by_id, action.done_at = actor.id, now()
        audit.record("improvement_review_action_done", actor, object_type=OBJECT_TYPE,
                     object_id=str(item.id), details={"review": item.id, "action": action.id},
                     reason=note or None)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return action


def minutes_text(item: ManagementReview, approver: User) -> reports.ReviewMinutes:
    """Return what the minutes print."""
    return reports.ReviewMinutes(
        heading=reports.Heading(organisation=organisation.name(), place=organisation.place(),
                                day=item.review_date, number=f"XXLĐ-{item.review_date.year}"
                                f"-{item.id:02d}"),
        title=item.title, period_start=item.period_start, period_end=item.period_end,
        attendees=item.attendees, chair=approver.display_name,
        secretary=item.created_by.display_name, sections=texts(item),
        actions=[reports.ReviewActionLine(description=a.description,
                                          owner=a.owner.display_name, due=a.due_date,
                                          status=a.status) for a in item.actions])


def _file_minutes(actor: User, item: ManagementReview, data: bytes):
    """File the minutes as a record (services/records, the one filing unit of work)."""
    return base.file_report(
        actor, kind="management_review", title=f"Biên bản họp xem xét của lãnh đạo: "
        f"{item.title}", filename=f"bien-ban-xem-xet-lanh-dao-{item.review_date:%Y%m%d}.docx",
        data=data, record_date=item.review_date,
        keeper=base.keeper_id(item.created_by, actor),
        reference=f"XXLĐ-{item.review_date.year}-{item.id:02d}")


def close(actor: User, review_id, *, password) -> ManagementReview:
    """Approve the minutes (the head of agency, password again) and file them as a record."""
    item = get(actor, review_id)
    if not has_perm(actor.role, Perm.APPROVE):
        raise Forbidden(_l("Only the head of agency (an approver) approves the minutes of a "
                           "management review"))
    if item.status != ReviewStatus.DRAFT:
        base.refuse_final(CLOSED)
    if not texts(item)["conclusions"]:
        raise Conflict(_l("Write the conclusions of the review before its minutes are "
                          "approved"), field="conclusions")
    signatures.confirm_password(actor, password if isinstance(password, str) else "")
    item = _locked(actor, review_id)
    try:
        try:
            target = review_next(item.status, Step.CLOSE)
        except InvalidTransition:
            base.refuse_final(CLOSED)
        record = _file_minutes(actor, item, reports.build_review_minutes(
            minutes_text(item, actor)))
        item = publishing.locked_row(item)
        if item.status != ReviewStatus.DRAFT:   # closed meanwhile by another request
            base.refuse_final(CLOSED)
        item.status, item.approved_by_id, item.approved_at = target, actor.id, now()
        item.record_id = record.id
        audit.record("improvement_review_closed", actor, object_type=OBJECT_TYPE,
                     object_id=str(item.id),
                     details={"review": item.id, "record": record.id, "slug": record.slug,
                              "sha256": record.sha256, "actions": len(item.actions),
                              "meaning": "approved the minutes"})
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return item
