import pytest

from docctl.domain.lifecycle import (
    CONTROLLED,
    IN_PROGRESS,
    TRANSITIONS,
    Action,
    Status,
    allowed_actions,
    next_status,
)
from docctl.errors import InvalidTransition

EXPECTED = [
    ("draft", "submit", "in_review"),
    ("in_review", "accept_all", "awaiting_approval"),
    ("in_review", "reject", "draft"),
    ("awaiting_approval", "return", "draft"),
    ("draft", "discard", "discarded"),
    ("in_review", "recall", "draft"),
    ("in_review", "reroute", "in_review"),
    ("awaiting_approval", "reroute", "awaiting_approval"),
    ("awaiting_approval", "approve", "approved"),
    ("approved", "take_effect", "effective"),
    ("effective", "supersede", "superseded"),
    ("effective", "withdraw", "obsolete"),
    ("approved", "withdraw", "obsolete"),
]


@pytest.mark.parametrize(("status", "action", "after"), EXPECTED)
def test_allowed_transitions(status, action, after):
    assert next_status(status, action) == after


def test_table_has_exactly_the_expected_transitions():
    assert {(s.value, a.value): t.value for (s, a), t in TRANSITIONS.items()} == {
        (s, a): t for s, a, t in EXPECTED}


@pytest.mark.parametrize("status", [s.value for s in Status])
@pytest.mark.parametrize("action", [a.value for a in Action])
def test_every_other_pair_is_refused(status, action):
    if (status, action) in {(s, a) for s, a, _ in EXPECTED}:
        return
    with pytest.raises(InvalidTransition) as info:
        next_status(status, action)
    assert info.value.status == 409


def test_no_skipping_from_draft_to_approved():
    with pytest.raises(InvalidTransition):
        next_status("draft", "approve")
    assert allowed_actions("draft") == {Action.SUBMIT, Action.DISCARD}


def test_discarded_is_terminal_and_the_approver_never_returns_from_review():
    assert allowed_actions("discarded") == set()
    assert Status.DISCARDED not in CONTROLLED and Status.DISCARDED not in IN_PROGRESS
    with pytest.raises(InvalidTransition):
        next_status("in_review", "return")
    with pytest.raises(InvalidTransition):
        next_status("awaiting_approval", "reject")


def test_unknown_status_is_refused():
    with pytest.raises(InvalidTransition):
        next_status("published", "approve")
