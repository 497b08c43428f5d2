"""The revision lifecycle of DESIGN.md §5 as a transition table."""

from enum import StrEnum

from docctl.errors import InvalidTransition


class Status(StrEnum):
    """Statuses of a revision."""

    DRAFT = "draft"
    IN_REVIEW = "in_review"
    AWAITING_APPROVAL = "awaiting_approval"
    APPROVED = "approved"
    EFFECTIVE = "effective"
    SUPERSEDED = "superseded"
    OBSOLETE = "obsolete"
    # A draft its author gave up: kept (row, file, audit), never controlled, never in force.
    DISCARDED = "discarded"


class Action(StrEnum):
    """Things that move a revision from one status to another."""

    SUBMIT = "submit"
    ACCEPT_ALL = "accept_all"
    REJECT = "reject"
    APPROVE = "approve"
    TAKE_EFFECT = "take_effect"
    SUPERSEDE = "supersede"
    WITHDRAW = "withdraw"
    DISCARD = "discard"      # the author gives up a draft
    RECALL = "recall"        # the author takes a submission back before anyone decided
    RETURN = "return"        # the approver sends it back to the author
    REROUTE = "reroute"      # the secretary names other reviewers or another approver


TRANSITIONS: dict[tuple[Status, Action], Status] = {
    (Status.DRAFT, Action.SUBMIT): Status.IN_REVIEW,
    (Status.IN_REVIEW, Action.ACCEPT_ALL): Status.AWAITING_APPROVAL,
    (Status.IN_REVIEW, Action.REJECT): Status.DRAFT,
    # Only the approver returns, and only once it waits for them (never while in review).
    (Status.AWAITING_APPROVAL, Action.RETURN): Status.DRAFT,
    (Status.DRAFT, Action.DISCARD): Status.DISCARDED,
    (Status.IN_REVIEW, Action.RECALL): Status.DRAFT,
    # Re-routing keeps the status: the same step, other people.
    (Status.IN_REVIEW, Action.REROUTE): Status.IN_REVIEW,
    (Status.AWAITING_APPROVAL, Action.REROUTE): Status.AWAITING_APPROVAL,
    (Status.AWAITING_APPROVAL, Action.APPROVE): Status.APPROVED,
    (Status.APPROVED, Action.TAKE_EFFECT): Status.EFFECTIVE,
    (Status.EFFECTIVE, Action.SUPERSEDE): Status.SUPERSEDED,
    (Status.EFFECTIVE, Action.WITHDRAW): Status.OBSOLETE,
    # An approved revision not yet in force can be withdrawn with its document.
    (Status.APPROVED, Action.WITHDRAW): Status.OBSOLETE,
}

# Revisions that are controlled content: committed to git, never edited again.
CONTROLLED = frozenset({Status.APPROVED, Status.EFFECTIVE, Status.SUPERSEDED, Status.OBSOLETE})
# Revisions in the review/approval pipeline.
IN_PROGRESS = frozenset({Status.DRAFT, Status.IN_REVIEW, Status.AWAITING_APPROVAL})
NO_LONGER_CURRENT = frozenset({Status.SUPERSEDED, Status.OBSOLETE})
# Revisions that never became anything: not shown as current, not counted for numbering.
ABANDONED = frozenset({Status.DISCARDED})


def next_status(current: str, action: str) -> Status:
    """Return the status after action, or raise InvalidTransition."""
    try:
        return TRANSITIONS[(Status(current), Action(action))]
    except (KeyError, ValueError):
        raise InvalidTransition(
            f"Cannot {action} a revision that is {current}", status=current, action=action
        ) from None


def allowed_actions(current: str) -> set[Action]:
    """Return the actions allowed from a status."""
    return {action for (status, action) in TRANSITIONS if status == current}
