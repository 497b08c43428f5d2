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
}
DECISION_TEXT = {"pending": "Đang chờ / Waiting", "accept": "Đồng ý / Accepted",
                 "reject": "Trả lại / Returned"}
UNKNOWN = "Không rõ / Unknown"


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
