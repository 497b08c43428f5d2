"""Write an agency list (danh mục): organisation, title, date line and one table, as .xlsx or .docx.

The caller gives plain text cells; formula-looking text is the caller's to neutralise (the
services do it with auditlog.neutralise, as every export does).
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field

import docx
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt

from docctl.office.decision import _normal_style, _run, _widths
from docctl.office.generate import _clean, _deterministic

# The header row sits under the organisation, title and date lines and a blank row.
HEADER_ROW = 5


@dataclass
class ListTable:
    """What a printed list shows."""

    organisation: str
    title: str                        # "DANH MỤC HỒ SƠ"
    date_line: str                    # "Tính đến ngày 05/01/2026"
    header: list[str]
    rows: list[list[object]]
    widths: list[float] = field(default_factory=list)   # centimetres, one per column
    sheet_name: str = "Danh mục"


def write_list_xlsx(table: ListTable) -> bytes:
    """Return the list as a workbook: header frozen and filtered, widths set, landscape."""
    import openpyxl
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = table.sheet_name[:31]
    last = get_column_letter(len(table.header))
    for row, (text, bold, size) in enumerate(((table.organisation.upper(), True, 12),
                                               (table.title, True, 14),
                                               (table.date_line, False, 11)), start=1):
        sheet.cell(row=row, column=1, value=_clean(text)).font = Font(bold=bold, size=size)
        if row > 1:
            sheet.merge_cells(f"A{row}:{last}{row}")
            sheet.cell(row=row, column=1).alignment = Alignment(horizontal="center")
    for column, title in enumerate(table.header, start=1):
        cell = sheet.cell(row=HEADER_ROW, column=column, value=title)
        cell.font = Font(bold=True)
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    wrap = Alignment(vertical="top", wrap_text=True)
    for offset, values in enumerate(table.rows, start=1):
        for column, value in enumerate(values, start=1):
            value = _clean(value) if isinstance(value, str) else value   # openpyxl refuses \x01
            sheet.cell(row=HEADER_ROW + offset, column=column, value=value).alignment = wrap
    for column, width in enumerate(table.widths, start=1):
        # Excel counts characters; about five to a centimetre at the default font.
        sheet.column_dimensions[get_column_letter(column)].width = round(width * 5, 1)
    sheet.freeze_panes = f"A{HEADER_ROW + 1}"
    sheet.auto_filter.ref = f"A{HEADER_ROW}:{last}{HEADER_ROW + max(len(table.rows), 1)}"
    sheet.print_title_rows = f"{HEADER_ROW}:{HEADER_ROW}"
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.fitToWidth, sheet.page_setup.fitToHeight = 1, 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _repeat_header(row) -> None:
    """Make a table row repeat at the top of each printed page."""
    properties = row._tr.get_or_add_trPr()
    element = OxmlElement("w:tblHeader")
    element.set(qn("w:val"), "true")
    properties.append(element)


def write_list_docx(table: ListTable) -> bytes:
    """Return the list as a landscape Word document with a bordered table."""
    document = docx.Document()
    _normal_style(document)
    section = document.sections[0]
    section.orientation = WD_ORIENT.LANDSCAPE
    section.page_width, section.page_height = Cm(29.7), Cm(21)
    for side in ("left_margin", "right_margin"):
        setattr(section, side, Cm(1.5))
    section.top_margin = section.bottom_margin = Cm(1.5)
    head = document.add_paragraph()
    _run(head, table.organisation.upper(), bold=True, size=12)
    for text, bold, size in ((table.title, True, 14), (table.date_line, False, 13)):
        paragraph = document.add_paragraph()
        paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
        _run(paragraph, text, bold=bold, italic=not bold, size=size)
    grid = document.add_table(rows=1, cols=len(table.header))
    grid.style = "Table Grid"
    grid.alignment = WD_TABLE_ALIGNMENT.CENTER
    grid.autofit = False
    for cell, title in zip(grid.rows[0].cells, table.header, strict=True):
        paragraph = cell.paragraphs[0]
        paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
        _run(paragraph, title, bold=True, size=12)
    _repeat_header(grid.rows[0])
    for values in table.rows:
        cells = grid.add_row().cells
        for cell, value in zip(cells, values, strict=True):
            _run(cell.paragraphs[0], "" if value is None else str(value), size=12)
    if table.widths:
        _widths(grid, [Cm(w) for w in table.widths])
    for paragraph in document.paragraphs:
        paragraph.paragraph_format.space_after = Pt(3)
    out = io.BytesIO()
    document.save(out)
    return _deterministic(out.getvalue())
