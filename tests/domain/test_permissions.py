import pytest

from docctl.domain.permissions import Perm, can_see_revision, has_perm


@pytest.mark.parametrize("status", ["draft", "in_review", "awaiting_approval", "approved",
                                    "superseded", "obsolete"])
def test_staff_never_see_anything_but_effective(status):
    assert not can_see_revision("staff", status, is_participant=False)
    assert can_see_revision("staff", "effective", is_participant=False)


@pytest.mark.parametrize("role", ["controller", "auditor", "admin"])
def test_controllers_and_auditors_see_everything(role):
    assert can_see_revision(role, "obsolete", is_participant=False)
    assert can_see_revision(role, "draft", is_participant=False)


def test_reviewer_sees_only_what_is_routed_to_them():
    assert can_see_revision("reviewer", "in_review", is_participant=True)
    assert not can_see_revision("reviewer", "in_review", is_participant=False)
    assert not can_see_revision("reviewer", "superseded", is_participant=True)


def test_auditor_changes_nothing():
    for perm in (Perm.REGISTER, Perm.APPROVE, Perm.WITHDRAW, Perm.MANAGE_USERS, Perm.REVIEW):
        assert not has_perm("auditor", perm)


def test_unknown_role_grants_nothing():
    assert not has_perm("root", Perm.READ)
