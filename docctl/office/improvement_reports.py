"""Write the improvement loop's records in Vietnamese: the internal audit report, the
corrective action report (HĐKP) and the management review minutes (.docx)."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import date

import docx
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.shared import Cm

from docctl.office.decision import (
    MOTTO,
    NATIONAL,
    _long_date,
    _no_borders,
    _normal_style,
    _para,
    _run,
    _widths,
)
from docctl.office.generate import _deterministic

FINDING_KINDS = {"conformity": "Phù hợp", "observation": "Khuyến nghị (điểm lưu ý)",
                 "nonconformity": "Không phù hợp"}
SOURCES = {"audit": "Đánh giá nội bộ", "complaint": "Phản ánh, kiến nghị",
           "objective": "Mục tiêu chất lượng không đạt", "other": "Khác"}
# The minutes' headings, §9.3.2 inputs then §9.3.3 outputs (domain/improvement.REVIEW_SECTIONS).
SECTION_TITLES = {
    "previous_actions": "Tình trạng các hành động từ các lần xem xét trước",
    "changes": "Những thay đổi về các vấn đề bên ngoài và nội bộ liên quan đến hệ thống "
               "quản lý chất lượng",
    "customer_feedback": "Sự hài lòng của người dân, tổ chức và phản hồi của các bên quan tâm",
    "objectives": "Mức độ đạt được các mục tiêu chất lượng",
    "process_performance": "Kết quả thực hiện các quá trình và sự phù hợp của dịch vụ",
    "nonconformities": "Sự không phù hợp và hành động khắc phục",
    "monitoring": "Kết quả theo dõi và đo lường",
    "audit_results": "Kết quả đánh giá",
    "providers": "Kết quả thực hiện của các nhà cung cấp bên ngoài",
    "resources": "Sự đầy đủ của nguồn lực",
    "risks": "Hiệu lực của các hành động giải quyết rủi ro và cơ hội",
    "opportunities": "Các cơ hội cải tiến",
    "conclusions": "Kết luận của lãnh đạo",
}
ACTION_STATUS = {"open": "Đang thực hiện", "done": "Đã hoàn thành"}


def _dmy(value: date | None) -> str:
    return value.strftime("%d/%m/%Y") if value else "—"


@dataclass
class Heading:
    """The top block every record prints: organisation, national heading, place and date."""

    organisation: str
    day: date
    place: str = ""
    number: str = ""


@dataclass
class FindingLine:
    """One finding as the report prints it."""

    kind: str
    clause: str
    department: str
    procedure: str
    description: str
    evidence: str


@dataclass
class AuditReport:
    """What the internal audit report prints."""

    heading: Heading
    title: str
    start: date
    end: date
    clauses: str
    departments: str
    procedures: str
    lead: str
    team: list[str]
    findings: list[FindingLine] = field(default_factory=list)
    conclusion: str = ""


@dataclass
class NcReport:
    """What the corrective action report (HĐKP) prints."""

    heading: Heading
    source: str
    source_reference: str
    department: str
    description: str
    cause: str
    correction: str
    action: str
    owner: str
    due: date | None
    action_taken: str
    action_done_on: date | None
    verifier: str
    verified_on: date | None
    effective: bool | None
    verification_comment: str
    raised_by: str
    raised_on: date
    closed_by: str
    rounds: int = 0


@dataclass
class ReviewActionLine:
    """One decision or action of a review."""

    description: str
    owner: str
    due: date
    status: str


@dataclass
class ReviewMinutes:
    """What the management review minutes print."""

    heading: Heading
    title: str
    period_start: date
    period_end: date
    attendees: str
    chair: str
    secretary: str
    sections: dict[str, str] = field(default_factory=dict)
    actions: list[ReviewActionLine] = field(default_factory=list)


def _new_document(title: str):
    document = docx.Document()
    section = document.sections[0]
    section.page_height, section.page_width = Cm(29.7), Cm(21)
    section.top_margin = section.bottom_margin = Cm(2)
    section.left_margin, section.right_margin = Cm(3), Cm(2)
    _normal_style(document)
    core = document.core_properties
    core.title = title
    core.author = core.last_modified_by = "docctl"
    return document


def _heading(document, heading: Heading) -> None:
    table = document.add_table(rows=2, cols=2)
    _no_borders(table)
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table.autofit = False
    _widths(table, (Cm(6), Cm(10)))
    left, right = table.rows[0].cells
    left.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.CENTER
    _run(left.paragraphs[0], heading.organisation.upper(), bold=True, size=12)
    right.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.CENTER
    _run(right.paragraphs[0], NATIONAL, bold=True, size=12)
    motto = right.add_paragraph()
    motto.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _run(motto, MOTTO, bold=True, underline=True)
    number_cell, date_cell = table.rows[1].cells
    number_cell.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.CENTER
    if heading.number:
        _run(number_cell.paragraphs[0], f"Số: {heading.number}")
    date_cell.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.CENTER
    place = f"{heading.place}, " if heading.place else ""
    _run(date_cell.paragraphs[0], place + _long_date(heading.day), italic=True)
    _para(document, "", indent=False)


def _title(document, *lines: str) -> None:
    for index, text in enumerate(lines):
        _para(document, text, align=WD_ALIGN_PARAGRAPH.CENTER, indent=False, bold=index == 0,
              italic=index > 0, size=14 if index == 0 else 13, space_after=0 if index <
              len(lines) - 1 else 12)


def _section(document, text: str) -> None:
    _para(document, text, indent=False, bold=True)


def _labelled(document, label: str, value: str) -> None:
    paragraph = _para(document)
    _run(paragraph, f"{label}: ", bold=True)
    _run(paragraph, value or "—")


def _body(document, value: str) -> None:
    lines = [part for part in (value or "").splitlines() if part.strip()] or ["—"]
    for part in lines:
        _para(document, part)


def _grid(document, heads, rows, widths) -> None:
    table = document.add_table(rows=1, cols=len(heads))
    table.style = "Table Grid"
    table.autofit = False
    _widths(table, widths)
    for cell, head in zip(table.rows[0].cells, heads, strict=True):
        cell.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.CENTER
        _run(cell.paragraphs[0], head, bold=True, size=11)
    for values in rows:
        row = table.add_row()
        for cell, width, value in zip(row.cells, widths, values, strict=True):
            cell.width = width
            _run(cell.paragraphs[0], value or "—", size=11)


def _signatures(document, blocks: list[tuple[str, str]]) -> None:
    _para(document, "", indent=False)
    table = document.add_table(rows=1, cols=len(blocks))
    _no_borders(table)
    table.autofit = False
    _widths(table, tuple(Cm(16 / len(blocks)) for _ in blocks))
    for cell, (role, name) in zip(table.rows[0].cells, blocks, strict=True):
        cell.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.CENTER
        _run(cell.paragraphs[0], role.upper(), bold=True)
        for _blank in range(3):
            cell.add_paragraph()
        last = cell.add_paragraph()
        last.alignment = WD_ALIGN_PARAGRAPH.CENTER
        _run(last, name or "", bold=True)


def _save(document) -> bytes:
    out = io.BytesIO()
    document.save(out)
    return _deterministic(out.getvalue())


def build_audit_report(report: AuditReport) -> bytes:
    """Return the internal audit report (Báo cáo đánh giá nội bộ) as .docx bytes."""
    document = _new_document(f"Báo cáo đánh giá nội bộ: {report.title}")
    _heading(document, report.heading)
    _title(document, "BÁO CÁO ĐÁNH GIÁ NỘI BỘ", report.title)
    _section(document, "1. Thông tin chung")
    _labelled(document, "Thời gian đánh giá", f"từ {_dmy(report.start)} đến {_dmy(report.end)}")
    _labelled(document, "Điều khoản TCVN ISO 9001:2015", report.clauses)
    _labelled(document, "Đơn vị được đánh giá", report.departments)
    _labelled(document, "Quy trình được đánh giá", report.procedures)
    _labelled(document, "Trưởng đoàn đánh giá", report.lead)
    _labelled(document, "Thành viên đoàn đánh giá", ", ".join(report.team))
    _section(document, "2. Kết quả đánh giá")
    counts = {kind: sum(1 for f in report.findings if f.kind == kind) for kind in FINDING_KINDS}
    _para(document, "; ".join(f"{FINDING_KINDS[k]}: {n}" for k, n in counts.items()) + ".")
    if report.findings:
        _grid(document, ("STT", "Loại", "Điều khoản", "Đơn vị", "Quy trình", "Mô tả",
                         "Bằng chứng"),
              [(str(i), FINDING_KINDS.get(f.kind, f.kind), f.clause, f.department,
                f.procedure, f.description, f.evidence)
               for i, f in enumerate(report.findings, start=1)],
              (Cm(1), Cm(2.2), Cm(1.8), Cm(2), Cm(2), Cm(4), Cm(3)))
    _section(document, "3. Kết luận")
    _body(document, report.conclusion)
    _signatures(document, [("Trưởng đoàn đánh giá", report.lead)])
    return _save(document)


def build_nc_report(report: NcReport) -> bytes:
    """Return the corrective action report (Báo cáo thực hiện HĐKP) as .docx bytes."""
    document = _new_document(f"Báo cáo thực hiện hành động khắc phục {report.heading.number}")
    _heading(document, report.heading)
    _title(document, "BÁO CÁO THỰC HIỆN HÀNH ĐỘNG KHẮC PHỤC",
           "(Sự không phù hợp và hành động khắc phục)")
    _section(document, "1. Sự không phù hợp")
    source = SOURCES.get(report.source, report.source)
    if report.source_reference:
        source += f" ({report.source_reference})"
    _labelled(document, "Nguồn", source)
    _labelled(document, "Đơn vị", report.department)
    _labelled(document, "Người phát hiện, ngày", f"{report.raised_by}, {_dmy(report.raised_on)}")
    _body(document, report.description)
    _section(document, "2. Phân tích nguyên nhân")
    _body(document, report.cause)
    _section(document, "3. Biện pháp khắc phục (xử lý tức thời)")
    _body(document, report.correction)
    _section(document, "4. Hành động khắc phục")
    _body(document, report.action)
    _labelled(document, "Người thực hiện", report.owner)
    _labelled(document, "Thời hạn hoàn thành", _dmy(report.due))
    _section(document, "5. Kết quả thực hiện")
    _body(document, report.action_taken)
    _labelled(document, "Ngày báo cáo hoàn thành", _dmy(report.action_done_on))
    _section(document, "6. Kiểm tra, xác nhận hiệu lực")
    verdict = {True: "Có hiệu lực", False: "Không có hiệu lực"}.get(report.effective, "—")
    _labelled(document, "Kết quả", verdict)
    _labelled(document, "Người kiểm tra, ngày", f"{report.verifier}, {_dmy(report.verified_on)}")
    _body(document, report.verification_comment)
    if report.rounds:
        _para(document, f"Hành động đã phải thực hiện lại {report.rounds} lần do chưa có "
                        "hiệu lực.", italic=True)
    _signatures(document, [("Người thực hiện", report.owner),
                           ("Người kiểm tra", report.verifier),
                           ("Thư ký ISO", report.closed_by)])
    return _save(document)


def build_review_minutes(minutes: ReviewMinutes) -> bytes:
    """Return the management review minutes (Biên bản họp xem xét của lãnh đạo) as .docx."""
    document = _new_document(f"Biên bản họp xem xét của lãnh đạo: {minutes.title}")
    _heading(document, minutes.heading)
    _title(document, "BIÊN BẢN HỌP XEM XÉT CỦA LÃNH ĐẠO", minutes.title)
    _labelled(document, "Thời gian", _long_date(minutes.heading.day))
    _labelled(document, "Kỳ xem xét",
              f"từ {_dmy(minutes.period_start)} đến {_dmy(minutes.period_end)}")
    _labelled(document, "Chủ trì", minutes.chair)
    _labelled(document, "Thư ký", minutes.secretary)
    _labelled(document, "Thành phần tham dự", minutes.attendees)
    _section(document, "I. ĐẦU VÀO XEM XÉT")
    inputs = [k for k in SECTION_TITLES if k != "conclusions"]
    for number, name in enumerate(inputs, start=1):
        _section(document, f"{number}. {SECTION_TITLES[name]}")
        _body(document, minutes.sections.get(name, ""))
    _section(document, "II. KẾT LUẬN VÀ QUYẾT ĐỊNH")
    _body(document, minutes.sections.get("conclusions", ""))
    if minutes.actions:
        _grid(document, ("STT", "Quyết định, hành động", "Người thực hiện", "Thời hạn",
                         "Tình trạng"),
              [(str(i), a.description, a.owner, _dmy(a.due),
                ACTION_STATUS.get(a.status, a.status))
               for i, a in enumerate(minutes.actions, start=1)],
              (Cm(1), Cm(7), Cm(3.5), Cm(2.3), Cm(2.2)))
    _signatures(document, [("Thư ký", minutes.secretary), ("Chủ trì", minutes.chair)])
    return _save(document)
