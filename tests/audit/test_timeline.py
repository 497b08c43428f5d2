"""Issue #5 §4: one document's story in order, and its integrity badge."""

from docctl.models import Review
from docctl.services import documents, integrity, publishing, reviews, signatures, timeline
from tests.helpers import PASSWORD, docx_bytes, publish


def _story(users, clock):
    """QT-01: r1 effective; r2 returned once with a comment, then published; then withdrawn."""
    clock.advance(days=1)
    documents.upload_revision(users["controller"], "QT-01", filename="b.docx",
                              data=docx_bytes("bản hai"), reason="Bổ sung bước 4", change="reissue")
    reviews.submit(users["controller"], "QT-01", 2, reviewers=["reviewer"], approver="approver")
    reviews.review(users["reviewer"], "QT-01", 2, decision="reject",
                   comment="Thiếu biểu mẫu kèm theo")
    clock.advance(hours=2)
    reviews.submit(users["controller"], "QT-01", 2, reviewers=["reviewer"], approver="approver")
    reviews.review(users["reviewer"], "QT-01", 2, decision="accept", comment="Đạt")
    publishing.approve(users["approver"], "QT-01", 2, password=PASSWORD,
                       effective_date=clock.today())
    clock.advance(days=3)
    publishing.withdraw(users["controller"], "QT-01", reason="Hợp nhất vào QT-09",
                        password=PASSWORD)


def test_the_timeline_answers_who_what_when_why(users, procedure, clock, login_as):
    _story(users, clock)
    assert login_as("controller").get("/documents/QT-01").status_code == 200
    auditor = login_as("auditor")
    assert auditor.get("/documents/QT-01/revisions/1/download").status_code == 200

    events = auditor.get("/api/v1/documents/QT-01/timeline").get_json()["events"]
    actions = [(e["action"], e["revision"]) for e in events]
    assert actions == [
        ("document_registered", None), ("draft_uploaded", 1), ("submitted", 1),
        ("reviewed", 1), ("approved", 1), ("effective", 1),
        ("draft_uploaded", 2), ("submitted", 2), ("reviewed", 2), ("submitted", 2),
        ("reviewed", 2), ("approved", 2), ("superseded", 1), ("effective", 2),
        ("withdrawn", 2), ("download", 1)]
    assert [e["at"] for e in events] == sorted(e["at"] for e in events)
    returned, accepted = [e for e in events if e["action"] == "reviewed"][1:]
    assert returned["reason"] == "Thiếu biểu mẫu kèm theo" and returned["signatures"] == []
    assert returned["review"]["decision"] == "reject"
    assert accepted["review"]["comment"] == "Đạt"
    assert [s["meaning"] for s in accepted["signatures"]] == ["reviewed"]
    approved = [e for e in events if e["action"] == "approved"][1]
    assert approved["actor"]["role"] == "approver"
    assert approved["signatures"][0]["meaning"] == "approved"
    assert approved["signatures"][0]["verifies"] is True
    assert approved["details"]["commit"]
    withdrawn = events[-2]
    assert withdrawn["reason"] == "Hợp nhất vào QT-09"
    assert withdrawn["signatures"][0]["meaning"] == "withdrawn"
    assert events[-1]["actor"]["name"] == "Người dùng auditor"
    assert events[-1]["details"]["kind"] == "obsolete"
    # Page views are counted, not shown, unless asked for.
    assert not any(e["action"] == "viewed" for e in events)
    with_reads = auditor.get("/api/v1/documents/QT-01/timeline?reads=1").get_json()["events"]
    assert any(e["action"] == "viewed" and e["actor"]["role"] == "controller" for e in with_reads)

    page = auditor.get("/audit/documents/QT-01/timeline").get_data(as_text=True)
    for words in ("Thiếu biểu mẫu kèm theo", "Hợp nhất vào QT-09", "Người dùng approver",
                  "Trả lại", "Phê duyệt và ký", "dấu niêm phong hợp lệ", "Chưa kiểm tra"):
        assert words in page, words


def test_signature_and_review_rows_without_an_entry_still_appear(users, procedure, db,
                                                                  clock):
    """History imported without audit entries must not vanish from the story."""
    first = documents.get_revision(users["auditor"], "QT-01", 1)
    clock.advance(minutes=5)
    db.session.add(signatures.build(users["reviewer2"], first, "reviewed", clock(), "session"))
    db.session.add(Review(revision_id=first.id, reviewer_id=users["reviewer2"].id, round=9,
                          decision="reject", comment="Ý kiến nhập từ hệ thống cũ",
                          decided_at=clock()))
    db.session.commit()
    story = timeline.build(documents.get_document(users["auditor"], "QT-01"))
    loose = [(e.source, e.action, e.actor_name) for e in story.events if e.source != "audit"]
    assert loose == [("signature", "signed", "Người dùng reviewer2"),
                     ("review", "reviewed", "Người dùng reviewer2")]
    assert story.events[-1].reason == "Ý kiến nhập từ hệ thống cũ"
    matched = [s["id"] for e in story.events for s in e.signatures]
    assert sorted(matched) == sorted(s.id for r in story.revisions for s in r.signatures)


def test_the_integrity_badge_follows_verify(users, procedure, login_as, git):
    documents.register_document(users["controller"], {
        "type": "procedure", "title": "Quy trình hai", "department": "VP"})
    publish(users, "QT-02", text="hai")
    qt01 = lambda: documents.get_document(users["auditor"], "QT-01")  # noqa: E731
    qt02 = lambda: documents.get_document(users["auditor"], "QT-02")  # noqa: E731
    assert integrity.integrity_badge(qt01())["state"] == "unchecked"
    integrity.run_and_record(users["auditor"])
    badge = integrity.integrity_badge(qt01())
    assert badge["state"] == "verified" and badge["label"].startswith("Đã kiểm tra toàn vẹn lúc")
    git("tag", "-f", "-a", "-m", "moved", "QT-01/r1", "HEAD")
    integrity.run_and_record(users["auditor"])
    badge = integrity.integrity_badge(qt01())
    assert badge["state"] == "problem"
    assert badge["findings"] == ["QT-01 r1: tag QT-01/r1 is missing or points elsewhere"]
    assert integrity.integrity_badge(qt02())["state"] == "verified"
    page = login_as("auditor").get("/audit/documents/QT-01/timeline").get_data(as_text=True)
    assert "integrity-problem" in page and "tag QT-01/r1 is missing" in page
    body = login_as("auditor").get("/api/v1/documents/QT-02/timeline").get_json()
    assert body["integrity"]["state"] == "verified"


def test_the_verify_page_runs_with_csrf_and_lists_findings(users, procedure, login_as, git):
    from tests.helpers import csrf_token
    auditor = login_as("auditor")
    assert "Chưa kiểm tra tính toàn vẹn lần nào." in auditor.get("/audit/verify").get_data(
        as_text=True)
    assert auditor.post("/audit/verify").status_code == 400          # no CSRF token
    git("tag", "-f", "-a", "-m", "moved", "QT-01/r1", "HEAD~1")
    page = auditor.post("/audit/verify", data={"csrf_token": csrf_token(auditor)}).get_data(
        as_text=True)
    assert "Phát hiện 1 sai lệch" in page and "tag QT-01/r1 is missing" in page
    assert 'href="/audit/documents/QT-01/timeline"' in page


def test_a_long_timeline_page_is_paged_in_order(users, procedure, login_as, monkeypatch):
    from docctl.web import audit as audit_pages
    monkeypatch.setattr(audit_pages, "TIMELINE_PAGE", 4)
    auditor = login_as("auditor")
    first = auditor.get("/audit/documents/QT-01/timeline").get_data(as_text=True)
    second = auditor.get("/audit/documents/QT-01/timeline?page=2").get_data(as_text=True)
    assert "Sự kiện 1–4 trên tổng số 6, cũ nhất trước." in first
    assert "Sự kiện 5–6 trên tổng số 6, cũ nhất trước." in second
    assert "Đăng ký tài liệu" in first and "Đăng ký tài liệu" not in second
    assert "Có hiệu lực" in second and "Có hiệu lực" not in first
