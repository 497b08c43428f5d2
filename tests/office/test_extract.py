"""Text extraction and the document builder, on Word XML written for each case."""

from __future__ import annotations

import io
import statistics
import time
import unicodedata
import zipfile

import docx
import pytest

from docctl.errors import UnsupportedFile
from docctl.office import DocxInfo, build_docx, extract_text, inspect_docx

NS = (
    'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships" '
    'xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006" '
    'xmlns:wps="http://schemas.microsoft.com/office/word/2010/wordprocessingShape" '
    'xmlns:v="urn:schemas-microsoft-com:vml" '
    'xmlns:m="http://schemas.openxmlformats.org/officeDocument/2006/math"'
)
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/"
WML = "application/vnd.openxmlformats-officedocument.wordprocessingml."

VI_NFC = unicodedata.normalize("NFC", "Quy trình kiểm soát tài liệu và hồ sơ — Ủy ban nhân dân")
VI_NFD = unicodedata.normalize("NFD", VI_NFC)


def _part(root: str, content: str, encoding: str = "UTF-8") -> bytes:
    xml = f'<?xml version="1.0" encoding="{encoding}" standalone="yes"?><w:{root} {NS}>'
    return (xml + content + f"</w:{root}>").encode(encoding)


def _package(body: str, *, parts: dict[str, tuple[str, str, str]] | None = None,
             encoding: str = "UTF-8", document: bytes | None = None) -> bytes:
    """Build a .docx whose body is `body`; parts maps rId -> (kind, part name, xml content)."""
    base = build_docx("x", [])
    parts = parts or {}
    with zipfile.ZipFile(io.BytesIO(base)) as zf:
        members = {info.filename: zf.read(info) for info in zf.infolist()}
    rels = members["word/_rels/document.xml.rels"].decode()
    types = members["[Content_Types].xml"].decode()
    for rid, (kind, name, content) in parts.items():
        root = {"header": "hdr", "footer": "ftr"}.get(kind, kind)
        members[f"word/{name}"] = _part(root, content)
        rels = rels.replace("</Relationships>", (
            f'<Relationship Id="{rid}" Type="{REL}{kind}" Target="{name}"/></Relationships>'))
        types = types.replace("</Types>", (
            f'<Override PartName="/word/{name}" ContentType="{WML}{kind}+xml"/></Types>'))
    members["word/_rels/document.xml.rels"] = rels.encode()
    members["[Content_Types].xml"] = types.encode()
    members["word/document.xml"] = document or _part("document", f"<w:body>{body}</w:body>",
                                                      encoding)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return out.getvalue()


def _p(*runs: str) -> str:
    return "<w:p>" + "".join(runs) + "</w:p>"


def _r(text: str) -> str:
    return f'<w:r><w:t xml:space="preserve">{text}</w:t></w:r>'


def _field(instruction: str, result: str) -> str:
    return (
        '<w:r><w:fldChar w:fldCharType="begin"/></w:r>'
        f'<w:r><w:instrText xml:space="preserve"> {instruction} </w:instrText></w:r>'
        '<w:r><w:fldChar w:fldCharType="separate"/></w:r>'
        + _r(result) + '<w:r><w:fldChar w:fldCharType="end"/></w:r>'
    )


def _text(body: str, **kwargs) -> str:
    return inspect_docx(_package(body, **kwargs)).text


# --- build_docx ----------------------------------------------------------------------------------

def test_build_docx_roundtrips_vietnamese_table_and_header():
    data = build_docx(
        VI_NFC, ["Mục đích: thống nhất cách kiểm soát.", "Phạm vi:\táp dụng toàn cơ quan."],
        code="QT-01", header="UBND TỈNH ĐỒNG THÁP",
        table=[["Bước", "Trách nhiệm"], ["Soạn thảo", "Phòng Hành chính"], ["Ký duyệt"]],
    )
    info = inspect_docx(data)
    assert isinstance(info, DocxInfo)
    lines = info.text.split("\n")
    assert lines[:2] == ["UBND TỈNH ĐỒNG THÁP", "QT-01"]  # header first
    assert VI_NFC in lines
    assert "Phạm vi:\táp dụng toàn cơ quan." in lines
    assert lines[-5:] == ["Bước", "Trách nhiệm", "Soạn thảo", "Phòng Hành chính", "Ký duyệt"]
    assert info.external_links == ()
    assert extract_text(data) == info.text


def test_build_docx_normalises_nfd_input_to_nfc():
    from_nfd = build_docx(VI_NFD, [VI_NFD], header=VI_NFD, table=[[VI_NFD]])
    from_nfc = build_docx(VI_NFC, [VI_NFC], header=VI_NFC, table=[[VI_NFC]])
    assert from_nfd == from_nfc
    text = inspect_docx(from_nfd).text
    assert text.split("\n") == [VI_NFC] * 4
    assert unicodedata.is_normalized("NFC", text)


def test_build_docx_is_deterministic_and_sets_properties():
    first = build_docx("Sổ tay chất lượng", ["a"], code="STCL")
    assert first == build_docx("Sổ tay chất lượng", ["a"], code="STCL")
    props = docx.Document(io.BytesIO(first)).core_properties
    assert (props.title, props.identifier, props.author) == ("Sổ tay chất lượng", "STCL", "docctl")


def test_build_docx_drops_characters_xml_cannot_hold():
    text = inspect_docx(build_docx("Tiêu\x00 đề\x0b", ["dòng\x1f một"])).text
    assert text.split("\n") == ["Tiêu đề", "dòng một"]


# --- extraction rules ----------------------------------------------------------------------------

def test_nfd_text_inside_the_document_comes_out_nfc():
    assert _text(_p(_r(VI_NFD))) == VI_NFC


def test_tabs_breaks_and_paragraphs():
    body = _p(_r("a"), "<w:r><w:tab/><w:t>b</w:t><w:br/><w:t>c</w:t></w:r>") + _p(_r("d"))
    assert _text(body) == "a\tb\nc\nd"


def test_tracked_insertions_kept_deletions_dropped():
    body = _p(
        _r("Giữ "),
        '<w:ins w:id="1" w:author="A"><w:r><w:t>thêm </w:t></w:r></w:ins>',
        '<w:del w:id="2" w:author="A"><w:r><w:delText>xoá </w:delText></w:r></w:del>',
        '<w:moveFrom w:id="3" w:author="A"><w:r><w:t>chuyển đi </w:t></w:r></w:moveFrom>',
        '<w:moveTo w:id="4" w:author="A"><w:r><w:t>chuyển đến</w:t></w:r></w:moveTo>',
    )
    assert _text(body) == "Giữ thêm chuyển đến"


def test_page_fields_show_results_not_codes():
    body = _p(_r("Trang: "), _field("PAGE", "1"), _r(" / "), _field("NUMPAGES", "5"))
    assert _text(body) == "Trang: 1 / 5"


def test_nested_field_inside_an_instruction_is_hidden():
    nested = _field("MERGEFIELD x", "inner")
    body = _p(
        '<w:r><w:fldChar w:fldCharType="begin"/></w:r>',
        '<w:r><w:instrText> IF </w:instrText></w:r>', nested,
        '<w:r><w:instrText> = "a" "yes" "no" </w:instrText></w:r>',
        '<w:r><w:fldChar w:fldCharType="separate"/></w:r>', _r("no"),
        '<w:r><w:fldChar w:fldCharType="end"/></w:r>',
    )
    assert _text(body) == "no"


def test_unterminated_field_in_header_does_not_hide_the_body():
    header = _p('<w:r><w:fldChar w:fldCharType="begin"/></w:r>', _r("lạc"))
    sect = '<w:sectPr><w:headerReference w:type="default" r:id="rIdH1"/></w:sectPr>'
    body = _p(_r("thân")) + sect
    assert _text(body, parts={"rIdH1": ("header", "header9.xml", header)}) == "thân"


def test_simple_field_shows_its_result():
    assert _text(_p('<w:fldSimple w:instr=" DATE "><w:r><w:t>01/12/2026</w:t></w:r>'
                    '</w:fldSimple>')) == "01/12/2026"


TEXT_BOX_HEADER = (
    '<w:p><w:r><mc:AlternateContent><mc:Choice Requires="wps"><w:drawing><wps:wsp><wps:txbx>'
    "<w:txbxContent>{inner}</w:txbxContent></wps:txbx></wps:wsp></w:drawing></mc:Choice>"
    "<mc:Fallback><w:pict><v:shape><v:textbox><w:txbxContent>{inner}</w:txbxContent>"
    "</v:textbox></v:shape></w:pict></mc:Fallback></mc:AlternateContent></w:r>"
    "<w:r><w:t>UBND TỈNH</w:t></w:r></w:p>"
)


def test_header_text_box_with_vml_fallback_read_once():
    # How Vietnamese ISO headers keep code, issue and effective date: a floating text box.
    inner = "".join(_p(_r(line)) for line in (
        "Mã số: QT-01", "Lần ban hành: 02", "Ngày hiệu lực: 01/12/2026"))
    header = TEXT_BOX_HEADER.format(inner=inner)
    body = _p(_r("Nội dung")) + (
        '<w:sectPr><w:headerReference w:type="default" r:id="rIdH1"/></w:sectPr>')
    text = _text(body, parts={"rIdH1": ("header", "header9.xml", header)})
    assert text.split("\n") == [
        "Mã số: QT-01", "Lần ban hành: 02", "Ngày hiệu lực: 01/12/2026", "UBND TỈNH", "Nội dung"]


def test_fallback_used_when_there_is_no_choice():
    body = _p("<w:r><mc:AlternateContent><mc:Fallback><w:pict><v:shape><v:textbox>"
              "<w:txbxContent>" + _p(_r("chỉ VML")) + "</w:txbxContent></v:textbox></v:shape>"
              "</w:pict></mc:Fallback></mc:AlternateContent></w:r>")
    assert _text(body) == "chỉ VML"


def test_every_header_and_footer_variant_and_notes():
    sect = ('<w:sectPr><w:headerReference w:type="first" r:id="rIdH1"/>'
            '<w:headerReference w:type="even" r:id="rIdH2"/>'
            '<w:headerReference w:type="default" r:id="rIdH3"/>'
            '<w:footerReference w:type="default" r:id="rIdF1"/><w:titlePg/></w:sectPr>')
    parts = {
        "rIdH1": ("header", "header91.xml", _p(_r("đầu trang đầu"))),
        "rIdH2": ("header", "header92.xml", _p(_r("đầu trang chẵn"))),
        "rIdH3": ("header", "header93.xml", _p(_r("đầu trang lẻ"))),
        "rIdF1": ("footer", "footer91.xml", _p(_r("chân trang"))),
        "rIdN1": ("footnotes", "footnotes.xml",
                  '<w:footnote w:type="separator" w:id="-1"><w:p><w:r><w:separator/></w:r></w:p>'
                  '</w:footnote><w:footnote w:id="1">' + _p(_r("chú thích")) + "</w:footnote>"),
    }
    text = _text(_p(_r("thân")) + sect, parts=parts)
    assert text.split("\n") == [
        "đầu trang đầu", "đầu trang chẵn", "đầu trang lẻ", "thân", "chú thích", "chân trang"]


def test_content_controls_and_tables():
    body = (
        '<w:sdt><w:sdtPr><w:alias w:val="Tên"/><w:showingPlcHdr/></w:sdtPr><w:sdtContent>'
        + _p(_r("trong điều khiển")) + "</w:sdtContent></w:sdt>"
        "<w:tbl><w:tr><w:tc>" + _p(_r("ô 1")) + '</w:tc><w:tc><w:tcPr><w:vMerge w:val="restart"/>'
        "</w:tcPr>" + _p(_r("ô gộp")) + "</w:tc></w:tr><w:tr><w:tc>" + _p(_r("ô 3"))
        + "</w:tc><w:tc><w:tcPr><w:vMerge/></w:tcPr><w:p/></w:tc></w:tr></w:tbl>"
    )
    assert _text(body).split("\n") == ["trong điều khiển", "ô 1", "ô gộp", "ô 3"]


def test_legacy_checkboxes_and_math_text():
    box = ('<w:r><w:fldChar w:fldCharType="begin"><w:ffData><w:checkBox><w:default w:val="0"/>'
           '<w:checked/></w:checkBox></w:ffData></w:fldChar></w:r>'
           '<w:r><w:instrText> FORMCHECKBOX </w:instrText></w:r>'
           '<w:r><w:fldChar w:fldCharType="end"/></w:r>')
    math = "<m:oMath><m:r><m:t>x=2</m:t></m:r></m:oMath>"
    assert _text(_p(box, _r(" Đạt")) + _p(math)) == "☒ Đạt\nx=2"


def test_document_in_utf16_is_accepted():
    assert _text(_p(_r(VI_NFC)), encoding="UTF-16") == VI_NFC


def test_document_with_byte_order_mark_is_accepted():
    document = b"\xef\xbb\xbf" + _part("document", "<w:body>" + _p(_r(VI_NFC)) + "</w:body>")
    assert inspect_docx(_package("", document=document)).text == VI_NFC


def test_root_must_be_a_word_document():
    data = _package("", document=_part("glossaryDocument", "<w:docParts/>"))
    with pytest.raises(UnsupportedFile) as caught:
        inspect_docx(data)
    assert caught.value.details["reason"] == "not_word"


def test_twenty_page_document_is_fast():
    paragraphs = [
        f"Điều {i}. Thư ký ISO kiểm tra, cập nhật danh mục tài liệu nội bộ và tài liệu bên ngoài; "
        "lãnh đạo phê duyệt trước khi ban hành theo TCVN ISO 9001:2015." for i in range(400)
    ]
    table = [[f"Hàng {r} cột {c}" for c in range(5)] for r in range(60)]
    data = build_docx("Quy trình kiểm soát tài liệu", paragraphs, code="QT-01", table=table)
    timings = []
    for _ in range(5):
        start = time.perf_counter()
        info = inspect_docx(data)
        timings.append(time.perf_counter() - start)
    assert info.text.count("Điều ") == 400
    assert statistics.median(timings) < 0.25  # ~20 ms on a developer machine; a loose guard
