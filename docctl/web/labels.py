"""Words on the screen for types, statuses, roles and errors (GLOSSARY.md)."""

from flask_babel import gettext, lazy_pgettext
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString

TYPES = {
    "manual": _l("Quality manual"),
    "policy": _l("Quality policy"),
    "objective": _l("Quality objectives"),
    "procedure": _l("Procedure"),
    "instruction": _l("Work instruction"),
    "form": _l("Form"),
    "external": _l("External document"),
}

STATUSES = {
    "draft": _l("Draft"),
    "in_review": _l("In review"),
    "awaiting_approval": _l("Awaiting approval"),
    "approved": _l("Approved, not yet effective"),
    "effective": _l("Effective"),
    "superseded": _l("Superseded"),
    "obsolete": _l("Obsolete (withdrawn)"),
    "new": _l("Not yet issued"),
    # issue 11 workflow: a discarded draft, and a draft returned to its author (derived).
    "discarded": _l("Discarded"),
    # Its own context: the reviewer's decision "Returned" reads "Trả lại", the status
    # of the draft "Bị trả lại".
    "returned": lazy_pgettext("revision status", "Returned"),
}

ROLES = {
    "admin": _l("Administrator"),
    "controller": _l("ISO secretary"),
    "reviewer": _l("Reviewer"),
    "approver": _l("Approver"),
    "staff": _l("Staff"),
    "auditor": _l("Auditor"),
}

MEANINGS = {
    "prepared": _l("Prepared by"),
    "reviewed": _l("Reviewed by"),
    "approved": _l("Approved by"),
    "withdrawn": _l("Withdrawn by"),
    "imported": _l("Imported (from the existing system) by"),
    "periodic_review": _l("Periodic review (no change) by"),
    "issued_by_decision": _l("Issued by decision, signed by"),
}

# Where a decision issuing a set stands (issue 11 releases).
RELEASE_STATUSES = {"draft": _l("Not signed"), "approved": _l("Signed, not yet in force"),
                    "effective": _l("In force"), "replaced": _l("Replaced"),
                    "discarded": _l("Discarded")}

# What a decision does to one document, as its appendix says it.
RELEASE_ACTIONS = {"new": _l("New issue"), "revise": _l("Revised, replaces the earlier one"),
                   "abolish": _l("Abolish")}

DECISIONS = {"pending": _l("Waiting"), "accept": _l("Accepted"), "reject": _l("Returned"),
             # issue 11 workflow: reviews closed by a recall or a re-route.
             "recalled": _l("Recalled by the author"), "rerouted": _l("Re-routed")}

# Why an upload was refused, in the user's language, with what to do instead.
UPLOAD_REASONS = {
    "empty": _l("The file is empty. Choose the Word document again."),
    "too_large": _l("The file is larger than the upload limit. Reduce embedded images or "
                    "split the document."),
    "not_zip": _l("This is not a Word document (.docx). Open it in Word and save it as "
                  "\"Word Document (*.docx)\"."),
    "not_word": _l("This is not a Word document (.docx). Open it in Word and save it as "
                   "\"Word Document (*.docx)\"."),
    "legacy_doc": _l("This is an old Word 97–2003 file (.doc). Open it in Word and save it as "
                     "\"Word Document (*.docx)\"."),
    "encrypted": _l("The document is protected by a password. Remove the password in Word "
                    "(File › Info › Protect Document) and upload it again."),
    "macro": _l("The document contains macros, which are not allowed. Save it as "
                "\"Word Document (*.docx)\" without macros."),
    "template": _l("This is a Word template (.dotx). Open it and save it as a document "
                   "(\"Word Document (*.docx)\")."),
    "strict": _l("The file is saved as \"Strict Open XML\". Save it again as an ordinary "
                 "\"Word Document (*.docx)\"."),
    "damaged": _l("The file is damaged or incomplete. Open it in Word, check it, save it "
                  "again and upload the new file."),
    "dtd": _l("The file contains XML declarations that are not allowed (DTD). Save it again "
              "from Word as \"Word Document (*.docx)\"."),
    "zip_bomb": _l("The file expands to far more data than a document should. It was refused."),
    "too_many_entries": _l("The file has too many internal parts to be a normal document."),
}

HTTP_MESSAGES = {
    400: _l("The request could not be understood. Check the form and try again."),
    401: _l("Please sign in to continue."),
    403: _l("You do not have permission to do this."),
    404: _l("This page does not exist, or you cannot see it."),
    405: _l("This action cannot be done that way."),
    409: _l("This action conflicts with the current state of the document."),
    413: _l("The upload is larger than the limit."),
    415: _l("This type of file is not accepted."),
    429: _l("Too many attempts. Wait a while and try again."),
    500: _l("Something went wrong on the server. The error was recorded; try again later."),
    503: _l("The system is busy. Try again in a moment."),
    504: _l("This took too long and was stopped. Try again later."),
}

TITLES = {
    400: _l("Invalid request"), 401: _l("Sign-in required"), 403: _l("Not allowed"),
    404: _l("Not found"), 405: _l("Not allowed"), 409: _l("Conflict"),
    413: _l("File too large"), 415: _l("File not accepted"), 429: _l("Too many attempts"),
    500: _l("Server error"), 503: _l("Busy"), 504: _l("Took too long"),
    507: _l("Storage full"), 410: _l("Destroyed"), 422: _l("Invalid request"),
}


def http_message(code: int) -> str:
    """Return the message shown for an HTTP error code."""
    return str(HTTP_MESSAGES.get(code, HTTP_MESSAGES[400]))


def status_title(code: int) -> str:
    """Return the heading of an error page."""
    return str(TITLES.get(code, TITLES[400]))


def error_message(exc) -> str:
    """Return a project error's message in the user's language."""
    reason = exc.details.get("reason")
    if reason in UPLOAD_REASONS:
        return str(UPLOAD_REASONS[reason])
    status = exc.details.get("status")
    if exc.code == "invalid_transition" and status in STATUSES:
        # The domain's message is English ("Cannot approve a revision that is draft").
        return str(_l("This step is not allowed while the revision is %(status)s.",
                      status=STATUSES[status]))
    if isinstance(exc.message, LazyString):
        return str(exc.message)   # written for users; evaluated now, in the request's language
    if exc.status >= 500:
        # Store failures carry technical English meant for the log, not for the user.
        return http_message(exc.status)
    return gettext(str(exc.message)) if exc.message else http_message(exc.status)


# Audit trail actions, as an auditor reads them.
ACTIONS = {
    "login": _l("Signed in"),
    "login_failed": _l("Sign-in failed"),
    "logout": _l("Signed out"),
    "viewed": _l("Viewed"),
    "download": _l("Downloaded"),
    "document_registered": _l("Registered the document"),
    "draft_uploaded": _l("Uploaded a draft"),
    "draft_replaced": _l("Replaced the draft"),
    "submitted": _l("Submitted for review"),
    "reviewed": _l("Reviewed"),
    "approval_rejected": _l("Returned by the approver"),
    "approved": _l("Approved and signed"),
    "effective": _l("Took effect"),
    "superseded": _l("Superseded"),
    "withdrawn": _l("Withdrawn"),
    "signature_failed": _l("Signature refused (wrong password)"),
    "integrity_alert": _l("Integrity alert"),
    "intent_abandoned": _l("Interrupted write abandoned"),
    "user_created": _l("User created"),
    "user_changed": _l("User changed"),
    "password_changed": _l("Password changed"),
    "password_change_failed": _l("Password change refused"),
    "token_issued": _l("API token issued"),
    "token_revoked": _l("API token revoked"),
    "verified": _l("Integrity check run"),
    "audit_read": _l("Audit log read"),
    "audit_exported": _l("Audit log exported"),
    "timeline_viewed": _l("Timeline read"),
    "evidence_downloaded": _l("Evidence package downloaded"),
    "signed": _l("Signed"),
    "login_throttled": _l("Sign-in throttled (too many failures)"),
    "login_unlocked": _l("Sign-in unlocked by an administrator"),
    "recovery_code_used": _l("Signed in with a recovery code"),
    "recovery_codes_renewed": _l("Recovery codes renewed"),
    "totp_enabled": _l("Two-step sign-in turned on"),
    "totp_disabled": _l("Two-step sign-in turned off"),
    "totp_setup_failed": _l("Two-step sign-in set-up refused (wrong code)"),
    "replayed_from_git": _l("Replayed from the git store (verify --repair)"),
    "search_reindexed": _l("Search index rebuilt"),
    "department_created": _l("Department created"),
    "department_renamed": _l("Department renamed"),
    "department_deactivated": _l("Department deactivated"),
    "department_reactivated": _l("Department reactivated"),
    "user_deactivated": _l("User deactivated"),
    "user_reactivated": _l("User reactivated"),
    "password_reset": _l("Password reset by an administrator"),
    "organisation_changed": _l("Organisation settings changed"),
    "import_started": _l("Import started"),
    "document_imported": _l("Imported from the existing system"),
    "import_finished": _l("Import finished"),
    # issue 11 workflow
    "draft_discarded": _l("Discarded the draft"),
    "recalled": _l("Recalled the submission"),
    "rerouted": _l("Re-routed the review"),
    # issue 11 forms
    "forms_set": _l("Forms of the revision chosen"),
    # issue 11 review
    "periodic_review_confirmed": _l("Periodic review: reviewed, no change"),
    "periodic_review_revise": _l("Periodic review: change opened"),
    # issue 11 releases
    "release_created": _l("Decision assembled"),
    "release_discarded": _l("Decision discarded before signing"),
    "release_approved": _l("Decision signed"),
    "release_effective": _l("Decision in force"),
    "release_replaced": _l("Decision replaced by a later one"),
    "release_scan_added": _l("Signed scan of the decision kept"),
    # issue 12 record types
    "record_types_set": _l("Records of the revision declared"),
    "records_master_list_exported": _l("Records master list exported"),
}

# What `docctl verify` checked, for its findings.
AREAS = {
    "git": _l("Git store (fsck)"),
    "audit": _l("Audit trail chain"),
    "anchor": _l("Audit anchors in git"),
    "trailer": _l("Commit trailers"),
    "revision": _l("Revision files"),
    "tag": _l("Tags"),
    "signature": _l("Signatures"),
    "catalog": _l("Catalog"),
    "intent": _l("Unfinished writes"),
    "database": _l("Database"),
    "startup": _l("Start-up"),
    "git-behind": _l("Git store older than the database"),
    "db-behind": _l("Database older than the git store"),
    "repair": _l("Repair"),
}


def revision_label(revision) -> str:
    """Return a revision's issue/amendment label in the organisation's format."""
    from docctl.services import documents

    return documents.label(revision)
