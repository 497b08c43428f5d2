"""Office adapter: the only code that opens .docx packages (python-docx, zip, OOXML)."""

from docctl.office.docx import DocxInfo, build_docx, extract_text, inspect_docx
from docctl.office.manifest import build_manifest_docx
from docctl.office.stamp import StampInfo, stamp_copy

__all__ = ["DocxInfo", "StampInfo", "build_docx", "build_manifest_docx", "extract_text",
           "inspect_docx", "stamp_copy"]
