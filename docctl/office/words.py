"""Bilingual words printed on copies and manifests (GLOSSARY.md): never a raw key."""

from __future__ import annotations

from datetime import date, datetime

STATUS_TEXT = {
    "draft": "Dự thảo / Draft",
    "in_review": "Đang xem xét / In review",
    "awaiting_approval": "Chờ phê duyệt / Awaiting approval",
    "approved": "Đã phê duyệt, chờ hiệu lực / Approved, not yet effective",
    "effective": "Đang hiệu lực / Effective",
    "superseded": "Hết hiệu lực (đã được thay thế) / Superseded",
    "obsolete": "Hết hiệu lực (đã thu hồi / bãi bỏ) / Obsolete (withdrawn)",
    "discarded": "Dự thảo đã hủy / Discarded draft",
}
ROLE_TEXT = {
    "admin": "Quản trị hệ thống / Administrator",
    "controller": "Thư ký ISO / ISO secretary",
    "reviewer": "Người xem xét / Reviewer",
    "approver": "Người phê duyệt / Approver",
    "staff": "Cán bộ, công chức / Staff",
    "auditor": "Chuyên gia đánh giá / Auditor",
}
# meaning → (who signed, what the signature means)
MEANING_TEXT = {
    "prepared": ("Người soạn thảo / Prepared by", "Soạn thảo nội dung / Authored the content"),
    "reviewed": ("Người xem xét / Reviewed by", "Đã xem xét, đồng ý / Reviewed and accepted"),
    "approved": ("Người phê duyệt / Approved by", "Phê duyệt ban hành / Approved for issue"),
    "withdrawn": ("Người thu hồi / Withdrawn by", "Thu hồi, bãi bỏ / Withdrawn"),
    "imported": ("Người nhập / Imported by",
                 "Nhập từ hồ sơ đã ban hành trước đây / Imported from earlier issued records"),
    "periodic_review": ("Người xem xét định kỳ / Periodic review by",
                        "Xem xét định kỳ, không thay đổi / Reviewed periodically, no change"),
    "issued_by_decision": ("Người ký quyết định ban hành / Issued by decision, signed by",
                           "Ban hành theo quyết định / Issued by decision"),
}
DECISION_TEXT = {"pending": "Đang chờ / Waiting", "accept": "Đồng ý / Accepted",
                 "reject": "Trả lại / Returned", "recalled": "Tác giả rút lại / Recalled",
                 "rerouted": "Chuyển người khác / Re-routed"}
UNKNOWN = "Không rõ / Unknown"
# Audit actions as printed in evidence manifests (web/labels.ACTIONS, both languages).
ACTION_TEXT = {
    "login": "Đăng nhập / Signed in",
    "login_failed": "Đăng nhập không thành công / Sign-in failed",
    "logout": "Đăng xuất / Signed out",
    "viewed": "Xem / Viewed",
    "download": "Tải về / Downloaded",
    "document_registered": "Đăng ký tài liệu / Registered the document",
    "draft_uploaded": "Tải lên dự thảo / Uploaded a draft",
    "draft_replaced": "Thay dự thảo / Replaced the draft",
    "submitted": "Trình xem xét / Submitted for review",
    "reviewed": "Xem xét / Reviewed",
    "approval_rejected": "Người phê duyệt trả lại / Returned by the approver",
    "approved": "Phê duyệt và ký / Approved and signed",
    "effective": "Có hiệu lực / Took effect",
    "superseded": "Hết hiệu lực (đã được thay thế) / Superseded",
    "withdrawn": "Thu hồi / bãi bỏ / Withdrawn",
    "signature_failed": "Từ chối ký (sai mật khẩu) / Signature refused (wrong password)",
    "integrity_alert": "Cảnh báo toàn vẹn / Integrity alert",
    "intent_abandoned": "Hủy thao tác ghi bị gián đoạn / Interrupted write abandoned",
    "user_created": "Tạo người dùng / User created",
    "user_changed": "Thay đổi người dùng / User changed",
    "password_changed": "Đổi mật khẩu / Password changed",
    "password_change_failed": "Từ chối đổi mật khẩu / Password change refused",
    "token_issued": "Cấp mã truy cập API / API token issued",
    "token_revoked": "Thu hồi mã truy cập API / API token revoked",
    "verified": "Kiểm tra tính toàn vẹn / Integrity check run",
    "audit_read": "Đọc nhật ký hệ thống / Audit log read",
    "audit_exported": "Xuất nhật ký hệ thống / Audit log exported",
    "timeline_viewed": "Đọc lịch sử tài liệu / Timeline read",
    "evidence_downloaded": "Tải gói hồ sơ bằng chứng / Evidence package downloaded",
    "signed": "Ký / Signed",
    "login_throttled": ("Tạm chặn đăng nhập (sai quá nhiều lần) / "
                        "Sign-in throttled (too many failures)"),
    "login_unlocked": "Quản trị viên mở khóa đăng nhập / Sign-in unlocked by an administrator",
    "recovery_code_used": "Đăng nhập bằng mã khôi phục / Signed in with a recovery code",
    "recovery_codes_renewed": "Cấp lại mã khôi phục / Recovery codes renewed",
    "totp_enabled": "Bật đăng nhập hai bước / Two-step sign-in turned on",
    "totp_disabled": "Tắt đăng nhập hai bước / Two-step sign-in turned off",
    "totp_setup_failed": ("Từ chối thiết lập đăng nhập hai bước (sai mã) / "
                          "Two-step sign-in set-up refused (wrong code)"),
    "replayed_from_git": ("Khôi phục từ kho git (verify --repair) / "
                          "Replayed from the git store (verify --repair)"),
    "search_reindexed": "Xây dựng lại chỉ mục tìm kiếm / Search index rebuilt",
    "department_created": "Tạo đơn vị / Department created",
    # issue 11 workflow
    "draft_discarded": "Hủy dự thảo / Discarded the draft",
    "recalled": "Rút lại hồ sơ trình / Recalled the submission",
    "rerouted": "Chuyển người xem xét, phê duyệt / Re-routed the review",
    "periodic_review_confirmed": ("Xem xét định kỳ: không thay đổi / "
                                  "Periodic review: no change"),
    "periodic_review_revise": ("Xem xét định kỳ: cần sửa đổi / "
                               "Periodic review: change opened"),
    "release_created": "Lập quyết định ban hành / Decision assembled",
    "release_discarded": "Hủy quyết định chưa ký / Decision discarded before signing",
    "release_approved": "Ký quyết định ban hành / Decision signed",
    "release_effective": "Quyết định có hiệu lực / Decision in force",
    "release_replaced": "Quyết định được thay thế / Decision replaced by a later one",
    "release_scan_added": "Lưu bản quét quyết định đã ký / Signed scan of the decision kept",
}


def action_text(action: str) -> str:
    """Return an audit action as printed; an action added later keeps its key, not a blank."""
    return ACTION_TEXT.get(action, action)


def status_text(status: str | None) -> str:
    """Return a status as printed; an unknown key is never shown raw."""
    return STATUS_TEXT.get(str(status or ""), UNKNOWN)


def roles_text(roles: str | None) -> str:
    """Return a comma-separated role set as printed, each role once, in the set's order."""
    seen: list[str] = []
    for key in (r.strip() for r in (roles or "").split(",")):
        if key and key not in seen:
            seen.append(key)
    return ", ".join(ROLE_TEXT.get(key, UNKNOWN) for key in seen) or UNKNOWN


def meaning_text(meaning: str) -> tuple[str, str]:
    """Return (role line, meaning line) of a signature meaning."""
    return MEANING_TEXT.get(meaning, (UNKNOWN, UNKNOWN))


def day(value: date | None) -> str:
    """Return a date as dd/mm/yyyy ("—" when there is none)."""
    return value.strftime("%d/%m/%Y") if value else "—"


def moment(value: datetime | None) -> str:
    """Return a local time as dd/mm/yyyy HH:MM ("—" when there is none)."""
    return value.strftime("%d/%m/%Y %H:%M") if value else "—"
