"""The improvement loop's statuses and steps: internal audit, nonconformity, management review.

ISO 9001 §9.2 (internal audit), §10.2 (nonconformity and corrective action), §9.3 (management
review). Each is a record with a status; once closed, nothing on it changes.
"""

from __future__ import annotations

import re
from enum import StrEnum

from docctl.errors import InvalidTransition


class AuditStatus(StrEnum):
    """Where an internal audit stands."""

    PLANNED = "planned"            # on the year's programme
    IN_PROGRESS = "in_progress"    # being conducted: findings are recorded
    REPORTED = "reported"          # report filed as a record; closed


class FindingKind(StrEnum):
    """What an auditor found (phát hiện)."""

    CONFORMITY = "conformity"
    OBSERVATION = "observation"        # khuyến nghị / điểm lưu ý
    NONCONFORMITY = "nonconformity"    # điểm không phù hợp: needs corrective action


class NcStatus(StrEnum):
    """Where a nonconformity and its corrective action (HĐKP) stand."""

    OPEN = "open"                  # cause analysis and action under way
    ACTION_DONE = "action_done"    # the owner reported the action taken; awaiting verification
    VERIFIED = "verified"          # verified effective; awaiting closure
    CLOSED = "closed"              # report filed as a record


class NcSource(StrEnum):
    """Where a nonconformity came from."""

    AUDIT = "audit"            # an internal audit's finding
    COMPLAINT = "complaint"    # phản ánh, kiến nghị of citizens or businesses
    OBJECTIVE = "objective"    # a quality objective missed
    OTHER = "other"            # found in daily work, external audit, ...


class ReviewStatus(StrEnum):
    """Where a management review stands."""

    DRAFT = "draft"        # inputs gathered, the secretary completes the texts
    CLOSED = "closed"      # minutes approved and filed as a record


class ActionStatus(StrEnum):
    """Where a decision/action of a management review stands."""

    OPEN = "open"
    DONE = "done"


class Step(StrEnum):
    """Things that move an audit, a nonconformity or a review on."""

    START = "start"
    CLOSE = "close"
    REPORT_DONE = "report_done"
    VERIFY_EFFECTIVE = "verify_effective"
    VERIFY_NOT_EFFECTIVE = "verify_not_effective"


AUDIT_STEPS: dict[tuple[AuditStatus, Step], AuditStatus] = {
    (AuditStatus.PLANNED, Step.START): AuditStatus.IN_PROGRESS,
    (AuditStatus.IN_PROGRESS, Step.CLOSE): AuditStatus.REPORTED,
}

NC_STEPS: dict[tuple[NcStatus, Step], NcStatus] = {
    (NcStatus.OPEN, Step.REPORT_DONE): NcStatus.ACTION_DONE,
    (NcStatus.ACTION_DONE, Step.VERIFY_EFFECTIVE): NcStatus.VERIFIED,
    # Not effective: the action is taken again (ISO 9001 §10.2.1 d).
    (NcStatus.ACTION_DONE, Step.VERIFY_NOT_EFFECTIVE): NcStatus.OPEN,
    # Closing needs a verification that found the action effective: never from open/done.
    (NcStatus.VERIFIED, Step.CLOSE): NcStatus.CLOSED,
}

REVIEW_STEPS: dict[tuple[ReviewStatus, Step], ReviewStatus] = {
    (ReviewStatus.DRAFT, Step.CLOSE): ReviewStatus.CLOSED,
}

# Statuses in which nothing on the object may change any more.
FINAL = frozenset({AuditStatus.REPORTED, NcStatus.CLOSED, ReviewStatus.CLOSED})
# Audit statuses in which findings may be recorded and the plan edited.
AUDIT_EDITABLE = frozenset({AuditStatus.PLANNED, AuditStatus.IN_PROGRESS})
# Nonconformity statuses in which the analysis and the action may still be edited.
NC_EDITABLE = frozenset({NcStatus.OPEN})


def _next(table: dict, kind: str, current: str, step: str):
    for (status, action), target in table.items():
        if status == current and action == step:
            return target
    raise InvalidTransition(f"Cannot {step} a {kind} that is {current}", status=current,
                            action=step)


def audit_next(current: str, step: str) -> AuditStatus:
    """Return the audit's status after step, or raise InvalidTransition."""
    return _next(AUDIT_STEPS, "audit", current, step)


def nc_next(current: str, step: str) -> NcStatus:
    """Return the nonconformity's status after step, or raise InvalidTransition."""
    return _next(NC_STEPS, "nonconformity", current, step)


def review_next(current: str, step: str) -> ReviewStatus:
    """Return the review's status after step, or raise InvalidTransition."""
    return _next(REVIEW_STEPS, "review", current, step)


def is_overdue(status: str, due, today) -> bool:
    """Tell whether a corrective action is overdue: not done, due before today."""
    return status == NcStatus.OPEN and due is not None and due < today


# "7.5, 8.1", "7.5.3; 8.2.1", "4 – 10": ISO clause numbers as auditors write them.
_CLAUSE = re.compile(r"^\d{1,2}(\.\d{1,2}){0,3}$")


def parse_clauses(text: str) -> list[str]:
    """Return the ISO clause numbers of a list ("7.5, 8.1"); raise ValueError on a bad one."""
    parts = [p.strip() for p in re.split(r"[,;\n]+", text or "") if p.strip()]
    bad = [p for p in parts if not _CLAUSE.match(p)]
    if bad:
        raise ValueError(bad[0])
    seen: list[str] = []
    for part in parts:
        if part not in seen:
            seen.append(part)
    return seen


# §9.3.2 inputs, then §9.3.3 outputs: the sections of the minutes, in order.
REVIEW_SECTIONS = (
    "previous_actions",     # a) status of actions from previous reviews
    "changes",              # b) changes in external and internal issues
    "customer_feedback",    # c1) customer satisfaction and feedback
    "objectives",           # c2) extent to which quality objectives were met
    "process_performance",  # c3) process performance, conformity of services
    "nonconformities",      # c4) nonconformities and corrective actions
    "monitoring",           # c5) monitoring and measurement results
    "audit_results",        # c6) audit results
    "providers",            # c7) performance of external providers
    "resources",            # d) adequacy of resources
    "risks",                # e) effectiveness of actions on risks and opportunities
    "opportunities",        # f) opportunities for improvement
    "conclusions",          # §9.3.3 outputs: conclusions of the review
)
