"""Service-level fixtures shared by the lifecycle, recovery and signature tests."""

import pytest

from docctl.services import documents, reviews
from tests.helpers import docx_bytes


@pytest.fixture
def awaiting(users, departments):
    """QT-01 r1 reviewed and accepted, waiting for the approver's signature."""
    documents.register_document(users["controller"], {"type": "procedure", "title": "T",
                                                      "department": "VP"})
    documents.upload_revision(users["controller"], "QT-01", filename="a.docx",
                              data=docx_bytes(), change="reissue")
    reviews.submit(users["controller"], "QT-01", 1, reviewers=["reviewer"], approver="approver")
    reviews.review(users["reviewer"], "QT-01", 1, decision="accept")
    return users
