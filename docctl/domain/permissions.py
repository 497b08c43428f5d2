"""Roles and what each may do; object-level visibility rules."""

from enum import StrEnum

from docctl.domain.lifecycle import Status


class Role(StrEnum):
    """Roles of docctl users."""

    ADMIN = "admin"
    CONTROLLER = "controller"
    REVIEWER = "reviewer"
    APPROVER = "approver"
    STAFF = "staff"
    AUDITOR = "auditor"


class Perm(StrEnum):
    """Permissions checked by views and services."""

    READ = "read"                    # effective documents
    READ_ALL = "read_all"            # every revision, incl. drafts and obsolete
    REGISTER = "register"            # register documents, upload drafts, submit
    REVIEW = "review"                # be named a reviewer
    APPROVE = "approve"              # be named an approver, sign approval
    WITHDRAW = "withdraw"
    MANAGE_USERS = "manage_users"
    AUDIT = "audit"                  # read the audit trail, timelines, evidence; run verify


ROLE_PERMS: dict[Role, frozenset[Perm]] = {
    Role.ADMIN: frozenset({Perm.READ, Perm.READ_ALL, Perm.MANAGE_USERS, Perm.AUDIT}),
    Role.CONTROLLER: frozenset({Perm.READ, Perm.READ_ALL, Perm.REGISTER, Perm.WITHDRAW}),
    Role.REVIEWER: frozenset({Perm.READ, Perm.REVIEW}),
    Role.APPROVER: frozenset({Perm.READ, Perm.REVIEW, Perm.APPROVE, Perm.WITHDRAW}),
    Role.STAFF: frozenset({Perm.READ}),
    Role.AUDITOR: frozenset({Perm.READ, Perm.READ_ALL, Perm.AUDIT}),
}


def has_perm(role: str, perm: Perm) -> bool:
    """Tell whether a role grants a permission (unknown roles grant nothing)."""
    try:
        return perm in ROLE_PERMS[Role(role)]
    except ValueError:
        return False


def can_see_revision(role: str, status: str, *, is_participant: bool) -> bool:
    """Tell whether a user may see a revision in this status."""
    if has_perm(role, Perm.READ_ALL):
        return True
    if status == Status.EFFECTIVE:
        return has_perm(role, Perm.READ)
    # Reviewers and approvers see the drafts routed to them, nothing else in progress.
    return is_participant and status in (Status.IN_REVIEW, Status.AWAITING_APPROVAL,
                                         Status.APPROVED)
