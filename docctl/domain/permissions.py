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
    # Ask the secretary to change a document in force (issue 11); auditors only read.
    REQUEST_CHANGE = "request_change"
    # Records (issue 12): file a record for one's own department; keep the records of all
    # (dispositions, legal holds); run the improvement loop (audits, nonconformities, reviews).
    FILE_RECORD = "file_record"
    MANAGE_RECORDS = "manage_records"
    MANAGE_IMPROVEMENT = "manage_improvement"
    # Take one's part in it: record findings on one's audit, carry out one's actions. Not the
    # auditor role: auditors (certification body, steering committee) read and change nothing.
    IMPROVE = "improve"


ROLE_PERMS: dict[Role, frozenset[Perm]] = {
    Role.ADMIN: frozenset({Perm.READ, Perm.READ_ALL, Perm.MANAGE_USERS, Perm.AUDIT}),
    Role.CONTROLLER: frozenset({Perm.READ, Perm.READ_ALL, Perm.REGISTER, Perm.WITHDRAW,
                                Perm.REQUEST_CHANGE, Perm.FILE_RECORD, Perm.MANAGE_RECORDS,
                                Perm.MANAGE_IMPROVEMENT, Perm.IMPROVE}),
    Role.REVIEWER: frozenset({Perm.READ, Perm.REVIEW, Perm.REQUEST_CHANGE, Perm.FILE_RECORD,
                              Perm.IMPROVE}),
    Role.APPROVER: frozenset({Perm.READ, Perm.REVIEW, Perm.APPROVE, Perm.WITHDRAW,
                              Perm.REQUEST_CHANGE, Perm.FILE_RECORD, Perm.IMPROVE}),
    Role.STAFF: frozenset({Perm.READ, Perm.REQUEST_CHANGE, Perm.FILE_RECORD, Perm.IMPROVE}),
    Role.AUDITOR: frozenset({Perm.READ, Perm.READ_ALL, Perm.AUDIT}),
}


def role_list(roles: str) -> tuple[Role, ...]:
    """Return the known roles of a comma-separated role string, in Role order."""
    named = {r.strip() for r in (roles or "").split(",")}
    return tuple(r for r in Role if r.value in named)


def join_roles(roles) -> str:
    """Return the stored form of a set of roles (comma-separated, in Role order)."""
    return ",".join(r.value for r in role_list(",".join(str(r) for r in roles)))


def has_perm(role: str, perm: Perm) -> bool:
    """Tell whether a role, or any role of a comma-separated set, grants a permission."""
    # Unknown roles grant nothing.
    return any(perm in ROLE_PERMS[r] for r in role_list(role))


def can_see_revision(role: str, status: str, *, is_participant: bool) -> bool:
    """Tell whether a user may see a revision in this status."""
    if has_perm(role, Perm.READ_ALL):
        return True
    if status == Status.EFFECTIVE:
        return has_perm(role, Perm.READ)
    # Reviewers and approvers see the drafts routed to them, nothing else in progress.
    return is_participant and status in (Status.IN_REVIEW, Status.AWAITING_APPROVAL,
                                         Status.APPROVED)
