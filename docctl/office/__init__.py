"""Office adapter: the only code that opens .docx packages (python-docx, zip, OOXML)."""

from docctl.office.docx import DocxInfo, build_docx, extract_text, inspect_docx

__all__ = ["DocxInfo", "build_docx", "extract_text", "inspect_docx"]
