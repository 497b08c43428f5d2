"""Open a new draft of a document from the revision in force (a requested or due change)."""

from flask_babel import lazy_gettext as _l

from docctl.errors import Conflict
from docctl.models import Document, Revision, User
from docctl.services import documents


def open_from_current(actor: User, document: Document, *, reason: str,
                      change: str = "amendment", commit: bool = True) -> Revision:
    """Start a draft whose file is the revision in force, to be edited and routed as usual.

    Raises Conflict when nothing is in force or a draft or review is already open (the one
    open draft per document rule of documents.upload_revision). commit=False leaves the unit
    of work open for the caller to finish.
    """
    current = documents.effective_revision(document)
    if current is None:
        raise Conflict(_l("Nothing is in force for this document to change"))
    data = documents.revision_bytes(current)
    return documents.upload_revision(actor, document.code, filename=current.filename,
                                     data=data, reason=reason, change=change,
                                     commit=commit)
