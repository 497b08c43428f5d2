"""Hostile uploads are refused quickly, in little memory, without touching disk or network."""

from __future__ import annotations

import io
import random
import socket
import struct
import time
import tracemalloc
import zipfile
import zlib

import docx
import pytest

from docctl.errors import DocctlError, TooLarge, UnsupportedFile
from docctl.office import build_docx, inspect_docx

MIB = 1024 * 1024
TIME_BUDGET = 5.0  # a guard against runaway work, not a benchmark
MEMORY_BUDGET = 64 * MIB

W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
R_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_RELS_NS = "http://schemas.openxmlformats.org/package/2006/relationships"


# --- building blocks ---------------------------------------------------------------------------

def _base() -> bytes:
    return build_docx("Quy trình kiểm soát tài liệu", ["Nội dung hợp lệ."], code="QT-01")


def _deflate(data: bytes) -> bytes:
    packer = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    return packer.compress(data) + packer.flush()


def _entry(name: str, data: bytes) -> tuple[str, bytes, int, int, int]:
    """Return an honest raw-zip entry: name, payload, method, crc, declared size."""
    return name, _deflate(data), zipfile.ZIP_DEFLATED, zlib.crc32(data), len(data)


def _entries(package: bytes, *, replace: dict | None = None, drop: tuple = ()) -> list:
    """Return the honest entries of a package, with some members replaced or dropped."""
    replace = dict(replace or {})
    with zipfile.ZipFile(io.BytesIO(package)) as zf:
        out = [
            _entry(info.filename, replace.pop(info.filename, None) or zf.read(info))
            for info in zf.infolist()
            if info.filename not in drop
        ]
    return out + [_entry(name, data) for name, data in replace.items()]


def _raw_zip(entries: list) -> bytes:
    """Write a zip by hand so that every header field can lie."""
    body = bytearray()
    central = bytearray()
    for name, payload, method, crc, size in entries:
        encoded = name.encode()
        offset = len(body)
        body += struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, 0, method, 0, 0x21, crc,
                            len(payload), size, len(encoded), 0) + encoded + payload
        central += struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, 20, 0, method, 0, 0x21, crc,
                               len(payload), size, len(encoded), 0, 0, 0, 0, 0, offset)
        central += encoded
    count = len(entries)
    start = len(body)
    body += central
    if count > 0xFFFF:
        zip64_at = len(body)
        body += struct.pack("<4sQ2H2L4Q", b"PK\x06\x06", 44, 45, 45, 0, 0, count, count,
                            len(central), start)
        body += struct.pack("<4sLQL", b"PK\x06\x07", 0, zip64_at, 1)
        count = 0xFFFF
    body += struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, count, count, len(central), start, 0)
    return bytes(body)


def _zip(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return out.getvalue()


def _document_xml(body: str, prolog: str = "") -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>' + prolog
        + f'<w:document xmlns:w="{W_NS}" xmlns:r="{R_NS}"><w:body>{body}</w:body></w:document>'
    ).encode()


def _measure(data: bytes, **limits):
    """Run inspect_docx under a time and memory guard; return its result or its error."""
    tracemalloc.start()
    start = time.perf_counter()
    try:
        try:
            outcome = inspect_docx(data, **limits)
        except DocctlError as exc:
            outcome = exc
        elapsed = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert elapsed < TIME_BUDGET, f"took {elapsed:.2f} s"
    assert peak < MEMORY_BUDGET, f"peak {peak / MIB:.1f} MiB"
    return outcome


def _refused(data: bytes, reason: str, **limits) -> UnsupportedFile:
    outcome = _measure(data, **limits)
    assert isinstance(outcome, UnsupportedFile), f"expected refusal {reason}, got {outcome!r}"
    assert outcome.details["reason"] == reason
    assert outcome.status == 415
    return outcome


@pytest.fixture(scope="module")
def zeros_300mib() -> tuple[bytes, int, int]:
    """Return a raw deflate stream of 300 MiB of zeros, its CRC and its size."""
    block = 15 * MIB
    packer = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    # After a full flush the compressor starts afresh, so one block's output can be repeated.
    chunk = packer.compress(bytes(block)) + packer.flush(zlib.Z_FULL_FLUSH)
    stream = chunk * 20 + packer.flush()
    crc = 0
    zeros = bytes(block)
    for _ in range(20):
        crc = zlib.crc32(zeros, crc)
    return stream, crc, block * 20


@pytest.fixture
def listener():
    """Listen on a local port; the test asserts nobody ever connects."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(5)
    yield server
    server.close()


def _assert_no_connection(server: socket.socket) -> None:
    server.settimeout(0.3)
    with pytest.raises(TimeoutError):
        server.accept()


# --- decompression bombs (R28) -----------------------------------------------------------------

def test_zip_bomb_refused(zeros_300mib):
    stream, crc, size = zeros_300mib
    entries = _entries(_base()) + [
        ("word/media/image1.png", stream, zipfile.ZIP_DEFLATED, crc, size)]
    _refused(_raw_zip(entries), "zip_bomb")


def test_bomb_under_total_cap_refused_by_ratio(zeros_300mib):
    stream, crc, size = zeros_300mib
    entries = _entries(_base()) + [
        ("word/media/image1.png", stream, zipfile.ZIP_DEFLATED, crc, size)]
    _refused(_raw_zip(entries), "zip_bomb", max_uncompressed=2 * size)


def test_lying_header_refused_by_counting_inflated_bytes(zeros_300mib):
    # The central directory and local header both claim 1000 bytes. The reader inflates the
    # raw stream itself (not through zipfile, which would trust the header) and stops one
    # chunk past the declared size.
    stream, _, _ = zeros_300mib
    entries = _entries(_base()) + [
        ("word/media/image1.png", stream, zipfile.ZIP_DEFLATED, zlib.crc32(bytes(1000)), 1000)]
    _refused(_raw_zip(entries), "zip_bomb")


def test_lying_header_with_modest_ratio_refused_before_inflating_it_all():
    # 8 MiB that compresses only ~3:1, so no ratio rule applies: only counting the bytes
    # actually inflated against the declared 1000 catches it.
    rng = random.Random(5)
    payload = b"".join(rng.randbytes(64 * 1024) + bytes(128 * 1024) for _ in range(43))
    entries = _entries(_base()) + [
        ("word/media/image1.png", _deflate(payload), zipfile.ZIP_DEFLATED,
         zlib.crc32(payload[:1000]), 1000)]
    _refused(_raw_zip(entries), "zip_bomb")


def test_member_shorter_than_declared_is_damaged():
    entries = _entries(_base()) + [
        ("word/media/image1.png", _deflate(b"x" * 10), zipfile.ZIP_DEFLATED,
         zlib.crc32(b"x" * 10), 5000)]
    _refused(_raw_zip(entries), "damaged")


def test_total_inflated_over_cap_refused():
    # Incompressible members: no ratio trips, only the total does.
    noise = random.Random(1).randbytes(3 * MIB)
    data = _raw_zip(_entries(_base(), replace={"word/media/noise.bin": noise}))
    _refused(data, "zip_bomb", max_uncompressed=2 * MIB)


def test_hundred_thousand_entries_refused_quickly():
    entries = _entries(_base())
    entries += [(f"x/{i}", b"", zipfile.ZIP_STORED, 0, 0) for i in range(100_000)]
    start = time.perf_counter()
    _refused(_raw_zip(entries), "too_many_entries")
    assert time.perf_counter() - start < 1.0


def test_entry_count_refused_even_when_end_record_lies():
    entries = _entries(_base()) + [
        (f"x/{i}", b"", zipfile.ZIP_STORED, 0, 0) for i in range(3000)]
    data = bytearray(_raw_zip(entries))
    end = data.rfind(b"PK\x05\x06")
    data[end + 8:end + 12] = struct.pack("<2H", 5, 5)  # claim 5 entries
    _refused(bytes(data), "too_many_entries")


def test_embedded_zip_bomb_is_never_opened(zeros_300mib):
    stream, crc, size = zeros_300mib
    inner = _raw_zip([("bomb.bin", stream, zipfile.ZIP_DEFLATED, crc, size)])
    data = _raw_zip(_entries(_base(), replace={"word/embeddings/package.zip": inner}))
    info = _measure(data)
    assert not isinstance(info, Exception)
    assert "Nội dung hợp lệ." in info.text


def test_docx_inside_a_plain_zip_is_not_word():
    _refused(_zip({"Quy trinh.docx": _base()}), "not_word")


# --- XML: DTDs and entities (R29) -------------------------------------------------------------

XXE = '<!DOCTYPE w:document [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'


# UTF-16 and UTF-32 hide "<!DOCTYPE" from a byte search; the parser-level check still sees it.
@pytest.mark.parametrize("encoding", ["utf-8", "utf-16", "utf-32"])
def test_xxe_in_document_refused_and_nothing_read(encoding):
    xml = _document_xml("<w:p><w:r><w:t>&xxe;</w:t></w:r></w:p>", XXE).decode()
    xml = xml.replace('encoding="UTF-8"', f'encoding="{encoding}"')
    data = _zip_from(_base(), {"word/document.xml": xml.encode(encoding)})
    refusal = _refused(data, "dtd")
    assert "root:" not in str(refusal) and "root:" not in repr(refusal.details)


@pytest.mark.parametrize("part", ["[Content_Types].xml", "_rels/.rels", "word/styles.xml",
                                  "word/_rels/document.xml.rels", "docProps/core.xml"])
def test_doctype_in_any_part_refused(part):
    with zipfile.ZipFile(io.BytesIO(_base())) as zf:
        original = zf.read(part).decode()
    declaration, _, rest = original.partition("?>")
    poisoned = f'{declaration}?><!doctype x SYSTEM "file:///etc/passwd">{rest}'
    _refused(_zip_from(_base(), {part: poisoned.encode()}), "dtd")


def test_billion_laughs_in_styles_refused():
    lol = "".join(
        f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10}">' for i in range(1, 10))
    prolog = f'<!DOCTYPE w:styles [<!ENTITY lol0 "lol">{lol}]>'
    styles = (f'<?xml version="1.0"?>{prolog}<w:styles xmlns:w="{W_NS}">'
              f'<w:style><w:name w:val="&lol9;"/></w:style></w:styles>')
    _refused(_zip_from(_base(), {"word/styles.xml": styles.encode()}), "dtd")


def test_external_dtd_is_never_fetched(listener):
    port = listener.getsockname()[1]
    prolog = f'<!DOCTYPE w:document SYSTEM "http://127.0.0.1:{port}/x.dtd">'
    data = _zip_from(_base(), {"word/document.xml": _document_xml("<w:p/>", prolog)})
    _refused(data, "dtd")
    _assert_no_connection(listener)


def test_malformed_xml_part_is_damaged():
    _refused(_zip_from(_base(), {"word/theme/theme1.xml": b"<a:theme><unclosed>"}), "damaged")


# --- external relationships (R30) ---------------------------------------------------------------

def test_external_template_and_links_listed_never_fetched(listener):
    port = listener.getsockname()[1]
    template = f"http://127.0.0.1:{port}/template.dotx"
    picture = f"http://127.0.0.1:{port}/logo.png"
    with zipfile.ZipFile(io.BytesIO(_base())) as zf:
        settings = zf.read("word/settings.xml").decode()
        rels = zf.read("word/_rels/document.xml.rels").decode()
    settings = settings.replace(
        "</w:settings>", f'<w:attachedTemplate xmlns:r="{R_NS}" r:id="rIdT"/></w:settings>')
    settings_rels = (
        f'<?xml version="1.0"?><Relationships xmlns="{PKG_RELS_NS}">'
        f'<Relationship Id="rIdT" TargetMode="External" Target="{template}" Type="'
        f'{R_NS}/attachedTemplate"/></Relationships>')
    rels = rels.replace("</Relationships>", (
        f'<Relationship Id="rIdP" TargetMode="External" Target="{picture}" '
        f'Type="{R_NS}/image"/></Relationships>'))
    data = _zip_from(_base(), {
        "word/settings.xml": settings.encode(),
        "word/_rels/settings.xml.rels": settings_rels.encode(),
        "word/_rels/document.xml.rels": rels.encode(),
    })
    info = _measure(data)
    assert not isinstance(info, Exception), info
    assert set(info.external_links) == {template, picture}
    _assert_no_connection(listener)


# --- type by content (R27) ----------------------------------------------------------------------

NOT_WORD = {
    "pdf": b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n%%EOF\n",
    "exe": b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + bytes(200),
    "random": random.Random(7).randbytes(4096),
    "rtf": b"{\\rtf1\\ansi Quy trinh}",
    "html": b"<!DOCTYPE html><html><body>Quy trinh</body></html>",
    "word_lock_file": b"\x05Admin" + bytes(156),  # ~$name.docx owner files are 162 bytes
    "xlsx": _zip({
        "[Content_Types].xml": (
            b'<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            b'<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-'
            b'officedocument.spreadsheetml.sheet.main+xml"/></Types>'),
        "_rels/.rels": (
            f'<Relationships xmlns="{PKG_RELS_NS}"><Relationship Id="r1" Type="{R_NS}/'
            'officeDocument" Target="xl/workbook.xml"/></Relationships>').encode(),
        "xl/workbook.xml": b"<workbook/>",
    }),
    "plain_zip": _zip({"readme.txt": b"hello"}),
}


@pytest.mark.parametrize("kind", sorted(NOT_WORD))
def test_not_a_word_document(kind):
    _refused(NOT_WORD[kind], "not_word")


def test_empty_upload():
    _refused(b"", "empty")


def test_oversized_upload():
    data = _base()
    with pytest.raises(TooLarge) as caught:
        inspect_docx(data, max_bytes=len(data) - 1)
    assert caught.value.details["reason"] == "too_large"
    assert caught.value.status == 413
    assert inspect_docx(data, max_bytes=len(data)).size == len(data)


def test_vba_project_in_plain_docx_is_macro():
    _refused(_zip_from(_base(), {"word/vbaProject.bin": b"\xd0\xcf\x11\xe0" + bytes(60)}), "macro")


def test_macro_template_content_type_is_macro():
    with zipfile.ZipFile(io.BytesIO(_base())) as zf:
        types = zf.read("[Content_Types].xml").decode()
    types = types.replace(
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml",
        "application/vnd.ms-word.template.macroEnabledTemplate.main+xml")
    _refused(_zip_from(_base(), {"[Content_Types].xml": types.encode()}), "macro")


def test_strict_namespace_in_main_part_is_strict():
    strict = _document_xml("<w:p/>").replace(
        W_NS.encode(), b"http://purl.oclc.org/ooxml/wordprocessingml/main")
    _refused(_zip_from(_base(), {"word/document.xml": strict}), "strict")


def test_zip_encrypted_member_is_encrypted():
    entries = _entries(_base())
    data = bytearray(_raw_zip(entries))
    # Set the "encrypted" general-purpose flag on every central directory record.
    pos = data.find(b"PK\x01\x02")
    while pos >= 0:
        data[pos + 8] |= 0x1
        pos = data.find(b"PK\x01\x02", pos + 4)
    _refused(bytes(data), "encrypted")


def test_duplicate_member_names_are_damaged():
    entries = _entries(_base())
    document = next(e for e in entries if e[0] == "word/document.xml")
    _refused(_raw_zip(entries + [("Word/Document.xml",) + document[1:]]), "damaged")


def test_bad_crc_is_damaged():
    picture = _entry("word/media/image1.png", b"\x89PNG not really" * 100)
    _refused(_raw_zip(_entries(_base()) + [picture[:3] + (picture[3] ^ 1,) + picture[4:]]),
             "damaged")


def test_unknown_compression_method_is_damaged():
    entries = [(n, p, 12 if n == "word/document.xml" else m, c, s)
               for n, p, m, c, s in _entries(_base())]
    _refused(_raw_zip(entries), "damaged")


# --- big but honest images are accepted (R28) ---------------------------------------------------

def _png(width: int, height: int, rows) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return (struct.pack(">L", len(body)) + kind + body
                + struct.pack(">L", zlib.crc32(kind + body)))
    header = struct.pack(">2L5B", width, height, 8, 0, 0, 0, 0)  # 8-bit greyscale
    pixels = zlib.compress(b"".join(b"\x00" + row for row in rows), 9)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels)
            + chunk(b"IEND", b""))


def _with_picture(png: bytes) -> bytes:
    document = docx.Document()
    document.add_paragraph("Sơ đồ quy trình")
    document.add_picture(io.BytesIO(png))
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def test_blank_a4_scan_is_accepted():
    # A PNG is already deflated inside, so in the zip it compresses about 1:1.
    white = b"\xff" * 2480
    info = _measure(_with_picture(_png(2480, 3508, [white] * 3508)))
    assert not isinstance(info, Exception), info
    assert "Sơ đồ quy trình" in info.text


def test_large_photo_like_image_is_accepted():
    rng = random.Random(3)
    rows = [bytes(rng.randrange(0, 16) for _ in range(1200)) for _ in range(1600)]
    png = _png(1200, 1600, rows)
    assert len(png) > MIB
    info = _measure(_with_picture(png))
    assert not isinstance(info, Exception), info


def test_megabytes_of_uncompressed_blank_bitmap_trip_the_ratio_rule():
    # Policy note: a >= 1 MiB member inflating > 100x is refused even if it is a real (if
    # wasteful) bitmap. Word converts pasted bitmaps to PNG, so real uploads rarely hit this.
    bmp = b"BM" + bytes(2 * MIB)
    _refused(_zip_from(_base(), {"word/media/image9.bmp": bmp}), "zip_bomb")


def _zip_from(package: bytes, replace: dict[str, bytes]) -> bytes:
    """Rewrite a package honestly with some members replaced or added."""
    return _raw_zip(_entries(package, replace=replace))
