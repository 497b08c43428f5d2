"""E-signatures: password at signing, bound to content and revision (R14–R16)."""

import pytest

from docctl.errors import SignatureError
from docctl.models import AuditEvent, Signature
from docctl.services import documents, publishing, signatures, verify
from tests.helpers import PASSWORD, publish


def test_wrong_password_refuses_and_is_audited(awaiting, db):
    with pytest.raises(SignatureError):
        publishing.approve(awaiting["approver"], "QT-01", 1, password="not my password",
                           effective_date=publishing.today())
    assert documents.get_revision(awaiting["auditor"], "QT-01", 1).status == "awaiting_approval"
    failed = db.session.query(AuditEvent).filter_by(action="signature_failed").one()
    assert failed.actor_id == awaiting["approver"].id
    assert "not my password" not in failed.details


def test_signature_records_who_when_meaning_and_hash(awaiting):
    publishing.approve(awaiting["approver"], "QT-01", 1, password=PASSWORD,
                       effective_date=publishing.today())
    rev = documents.get_revision(awaiting["auditor"], "QT-01", 1)
    by_meaning = {s.meaning: s for s in signatures.current(rev)}
    assert set(by_meaning) == {"prepared", "reviewed", "approved"}
    approved = by_meaning["approved"]
    assert approved.signer_name == "Người dùng approver" and approved.method == "password"
    assert approved.content_sha256 == rev.sha256 and approved.signed_at.tzinfo is not None
    assert all(signatures.verifies(s) for s in rev.signatures)


def test_moving_a_signature_to_another_revision_breaks_it(users, procedure, db):
    publish(users, "QT-01", text="hai", reason="Sửa")
    first = documents.get_revision(users["auditor"], "QT-01", 1)
    second = documents.get_revision(users["auditor"], "QT-01", 2)
    approval = next(s for s in first.signatures if s.meaning == "approved")
    approval.revision_id = second.id
    db.session.commit()
    assert not signatures.verifies(db.session.get(Signature, approval.id))
    findings = verify.run(fsck=False)
    assert any(f"signature {approval.id}" in f for f in findings)


def test_altering_the_content_hash_breaks_verification(users, procedure, db):
    rev = documents.get_revision(users["auditor"], "QT-01", 1)
    rev.sha256 = "0" * 64
    db.session.commit()
    findings = verify.run(fsck=False)
    assert any("does not match the recorded SHA-256" in f for f in findings)
    assert any("bound to other content" in f for f in findings)
