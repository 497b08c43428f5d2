"""Write a decision issuing a set of documents (Quyết định ban hành) in Decree 30 layout."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import date

import docx
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt

from docctl.office.generate import _clean, _deterministic

NATIONAL = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
MOTTO = "Độc lập - Tự do - Hạnh phúc"
FONT = "Times New Roman"
SIZE = 13
# What the appendix says a line does to its document.
ACTION_TEXT = {"new": "Ban hành mới", "revise": "Sửa đổi, thay thế", "abolish": "Bãi bỏ"}
# The legal basis every agency's ISO decision cites (DOMAIN.md).
BASES = ("Căn cứ Quyết định số 19/2014/QĐ-TTg ngày 05/3/2014 của Thủ tướng Chính phủ về việc "
         "áp dụng Hệ thống quản lý chất lượng theo Tiêu chuẩn quốc gia TCVN ISO 9001 vào hoạt "
         "động của các cơ quan, tổ chức thuộc hệ thống hành chính nhà nước;",
         "Căn cứ Tiêu chuẩn quốc gia TCVN ISO 9001:2015 Hệ thống quản lý chất lượng - Các yêu "
         "cầu;")


@dataclass
class DecisionLine:
    """One document the decision issues or abolishes."""

    code: str
    title: str
    label: str | None   # issue label as printed (Lần ban hành); None when abolished
    action: str         # new, revise, abolish


@dataclass
class DecisionText:
    """What the generated decision prints."""

    organisation: str
    number: str                  # 4500/QĐ-UBND
    decision_date: date
    title: str                   # what it issues: "Hệ thống quản lý chất lượng …"
    signer: str                  # "KT. CHỦ TỊCH\nPHÓ CHỦ TỊCH\nNguyễn Văn A"
    effective_date: date
    place: str = ""
    replaces: str | None = None  # "3494/QĐ-UBND ngày 12/03/2024"
    lines: list[DecisionLine] = field(default_factory=list)


def _long_date(day: date) -> str:
    # Decree 30: day and month below 10 take a leading zero only for 1 and 2 (ngày 05 tháng 3).
    day_text = f"{day.day:02d}" if day.day < 10 else str(day.day)
    month_text = f"{day.month:02d}" if day.month < 3 else str(day.month)
    return f"ngày {day_text} tháng {month_text} năm {day.year}"


def _run(paragraph, text: str, *, bold=False, italic=False, underline=False, size=SIZE):
    # Only what differs from the Normal style (Times New Roman 13): a few hundred runs with
    # every property spelled out cost more time than the rest of the decision.
    run = paragraph.add_run(_clean(text))
    if bold:
        run.bold = True
    if italic:
        run.italic = True
    if underline:
        run.underline = True
    if size != SIZE:
        run.font.size = Pt(size)
    return run


def _normal_style(document) -> None:
    """Set the document's base font once: Times New Roman 13, for Vietnamese too."""
    font = document.styles["Normal"].font
    font.name, font.size = FONT, Pt(SIZE)
    fonts = document.styles["Normal"].element.get_or_add_rPr().get_or_add_rFonts()
    for attribute in ("w:ascii", "w:hAnsi", "w:cs", "w:eastAsia"):
        fonts.set(qn(attribute), FONT)


def _para(container, text: str = "", *, align=WD_ALIGN_PARAGRAPH.JUSTIFY, indent=True,
          space_after=6, **style):
    paragraph = container.add_paragraph()
    paragraph.alignment = align
    paragraph.paragraph_format.space_after = Pt(space_after)
    if indent:
        paragraph.paragraph_format.first_line_indent = Cm(1)
    if text:
        _run(paragraph, text, **style)
    return paragraph


def _no_borders(table) -> None:
    borders = OxmlElement("w:tblBorders")
    for edge in ("top", "left", "bottom", "right", "insideH", "insideV"):
        element = OxmlElement(f"w:{edge}")
        element.set(qn("w:val"), "nil")
        borders.append(element)
    table._tbl.tblPr.append(borders)


def _widths(table, widths) -> None:
    # Word reads the cell widths, LibreOffice the grid: set both.
    for row in table.rows:
        for cell, width in zip(row.cells, widths, strict=True):
            cell.width = width
    for column, width in zip(table.columns, widths, strict=True):
        column.width = width


def _heading(document, text: DecisionText) -> None:
    table = document.add_table(rows=2, cols=2)
    _no_borders(table)
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table.autofit = False
    _widths(table, (Cm(6), Cm(10)))
    left, right = table.rows[0].cells
    top_left = left.paragraphs[0]
    top_left.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _run(top_left, text.organisation.upper(), bold=True, size=12)
    top_right = right.paragraphs[0]
    top_right.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _run(top_right, NATIONAL, bold=True, size=12)
    motto = right.add_paragraph()
    motto.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _run(motto, MOTTO, bold=True, underline=True, size=13)
    number_cell, date_cell = table.rows[1].cells
    number = number_cell.paragraphs[0]
    number.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _run(number, f"Số: {text.number}")
    where = date_cell.paragraphs[0]
    where.alignment = WD_ALIGN_PARAGRAPH.CENTER
    place = f"{text.place}, " if text.place else ""
    _run(where, place + _long_date(text.decision_date), italic=True)


def _gist(title: str) -> str:
    title = title.strip()
    return title if title.lower().startswith("về việc") else f"Về việc ban hành {title}"


def _articles(document, text: DecisionText) -> None:
    issued = [line for line in text.lines if line.action != "abolish"]
    abolished = [line for line in text.lines if line.action == "abolish"]
    para = _para(document, indent=True)
    _run(para, "Điều 1. ", bold=True)
    _run(para, f"Ban hành kèm theo Quyết định này {len(issued)} tài liệu thuộc Hệ thống quản lý "
               "chất lượng theo Tiêu chuẩn quốc gia TCVN ISO 9001:2015 (chi tiết tại Phụ lục "
               "kèm theo).")
    article = 2
    if abolished:
        para = _para(document)
        _run(para, f"Điều {article}. ", bold=True)
        codes = ", ".join(f"{line.code} ({line.title})" for line in abolished)
        _run(para, f"Bãi bỏ {len(abolished)} tài liệu: {codes}.")
        article += 1
    para = _para(document)
    _run(para, f"Điều {article}. ", bold=True)
    effect = f"Quyết định này có hiệu lực kể từ ngày {text.effective_date:%d/%m/%Y}"
    if text.replaces:
        effect += f" và thay thế Quyết định số {text.replaces}"
    _run(para, effect + ".")
    para = _para(document)
    _run(para, f"Điều {article + 1}. ", bold=True)
    _run(para, "Thủ trưởng các phòng, ban, đơn vị và cán bộ, công chức có liên quan chịu trách "
               "nhiệm thi hành Quyết định này./.")


def _signature(document, text: DecisionText, articles_to: int) -> None:
    table = document.add_table(rows=1, cols=2)
    _no_borders(table)
    table.autofit = False
    _widths(table, (Cm(7), Cm(9)))
    left, right = table.rows[0].cells
    recipients = left.paragraphs[0]
    _run(recipients, "Nơi nhận:", bold=True, italic=True, size=12)
    for line in (f"- Như Điều {articles_to};", "- Lưu: VT."):
        _run(left.add_paragraph(), line, size=11)
    lines = [line.strip() for line in text.signer.splitlines() if line.strip()]
    name = lines[-1] if lines else ""
    first = right.paragraphs[0]
    first.alignment = WD_ALIGN_PARAGRAPH.CENTER
    for index, line in enumerate(lines[:-1]):
        paragraph = first if index == 0 else right.add_paragraph()
        paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
        _run(paragraph, line.upper(), bold=True)
    for _blank in range(3):
        right.add_paragraph()
    last = right.add_paragraph() if len(lines) > 1 else first
    last.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _run(last, name, bold=True)


def _appendix(document, text: DecisionText) -> None:
    document.add_paragraph().add_run().add_break(WD_BREAK.PAGE)
    _para(document, "PHỤ LỤC", align=WD_ALIGN_PARAGRAPH.CENTER, indent=False, bold=True)
    _para(document, "DANH MỤC TÀI LIỆU HỆ THỐNG QUẢN LÝ CHẤT LƯỢNG",
          align=WD_ALIGN_PARAGRAPH.CENTER, indent=False, bold=True, space_after=0)
    _para(document, f"(Kèm theo Quyết định số {text.number} {_long_date(text.decision_date)})",
          align=WD_ALIGN_PARAGRAPH.CENTER, indent=False, italic=True)
    table = document.add_table(rows=1, cols=5)
    table.style = "Table Grid"
    table.autofit = False
    _widths(table, (Cm(1.2), Cm(2.8), Cm(7), Cm(2.2), Cm(2.8)))
    for cell, head in zip(table.rows[0].cells,
                          ("STT", "Mã hiệu", "Tên tài liệu", "Lần ban hành", "Ghi chú"),
                          strict=True):
        cell.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.CENTER
        _run(cell.paragraphs[0], head, bold=True, size=12)
    for index, line in enumerate(text.lines, start=1):
        values = (str(index), line.code, line.title, line.label or "—",
                  ACTION_TEXT.get(line.action, line.action))
        row = table.add_row()
        for cell, width in zip(row.cells, (Cm(1.2), Cm(2.8), Cm(7), Cm(2.2), Cm(2.8)),
                               strict=True):
            cell.width = width
        cells = row.cells
        for column, (cell, value) in enumerate(zip(cells, values, strict=True)):
            if column != 2:
                cell.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.CENTER
            _run(cell.paragraphs[0], value, size=12)


def build_decision(text: DecisionText) -> bytes:
    """Return the decision as .docx bytes (the same input gives the same bytes)."""
    document = docx.Document()
    section = document.sections[0]
    section.page_height, section.page_width = Cm(29.7), Cm(21)
    section.top_margin = section.bottom_margin = Cm(2)
    section.left_margin, section.right_margin = Cm(3), Cm(2)
    _normal_style(document)
    core = document.core_properties
    core.title = f"Quyết định {text.number}"
    core.author = core.last_modified_by = "docctl"
    _heading(document, text)
    _para(document, "", indent=False)
    _para(document, "QUYẾT ĐỊNH", align=WD_ALIGN_PARAGRAPH.CENTER, indent=False, bold=True,
          size=14, space_after=0)
    _para(document, _gist(text.title), align=WD_ALIGN_PARAGRAPH.CENTER, indent=False,
          bold=True, size=14)
    _para(document, text.organisation.upper(), align=WD_ALIGN_PARAGRAPH.CENTER, indent=False,
          bold=True, size=14)
    for basis in BASES:
        _para(document, basis, italic=True)
    _para(document, "QUYẾT ĐỊNH:", align=WD_ALIGN_PARAGRAPH.CENTER, indent=False, bold=True,
          size=14)
    _articles(document, text)
    has_abolish = any(line.action == "abolish" for line in text.lines)
    _signature(document, text, 4 if has_abolish else 3)
    _appendix(document, text)
    out = io.BytesIO()
    document.save(out)
    return _deterministic(out.getvalue())
