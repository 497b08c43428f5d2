"""Build .docx files that point outside themselves; a listener; find processes by marker."""

from __future__ import annotations

import io
import socket
import threading
import time
import zipfile
from pathlib import Path

from docctl.office import build_docx

R_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_REL = R_NS + "/"
_IMAGE = (
    '<w:p><w:r><w:drawing><wp:inline distT="0" distB="0" distL="0" distR="0">'
    '<wp:extent cx="95250" cy="95250"/><wp:docPr id="901" name="Linked"/>'
    '<a:graphic xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main">'
    '<a:graphicData uri="http://schemas.openxmlformats.org/drawingml/2006/picture">'
    '<pic:pic xmlns:pic="http://schemas.openxmlformats.org/drawingml/2006/picture">'
    '<pic:nvPicPr><pic:cNvPr id="0" name="Linked"/><pic:cNvPicPr/></pic:nvPicPr>'
    '<pic:blipFill><a:blip r:link="rIdExtImage"/><a:stretch><a:fillRect/></a:stretch>'
    '</pic:blipFill><pic:spPr><a:xfrm><a:off x="0" y="0"/><a:ext cx="95250" cy="95250"/>'
    '</a:xfrm><a:prstGeom prst="rect"><a:avLst/></a:prstGeom></pic:spPr></pic:pic>'
    '</a:graphicData></a:graphic></wp:inline></w:drawing></w:r></w:p>'
)
_FIELDS = (
    # A simple field and a complex one whose keyword is split across two runs.
    '<w:p><w:fldSimple w:instr=\' INCLUDEPICTURE "{url}/simple.png" \\d \'><w:r><w:t>simple'
    '</w:t></w:r></w:fldSimple></w:p>'
    '<w:p><w:r><w:fldChar w:fldCharType="begin"/></w:r>'
    '<w:r><w:instrText xml:space="preserve"> INCLUDE</w:instrText></w:r>'
    '<w:r><w:instrText xml:space="preserve">PICTURE "{url}/complex.png" \\d </w:instrText></w:r>'
    '<w:r><w:fldChar w:fldCharType="separate"/></w:r><w:r><w:t>complex</w:t></w:r>'
    '<w:r><w:fldChar w:fldCharType="end"/></w:r></w:p>'
    '<w:p><w:r><w:fldChar w:fldCharType="begin"/></w:r>'
    '<w:r><w:instrText xml:space="preserve"> INCLUDETEXT "{url}/text.docx" </w:instrText></w:r>'
    '<w:r><w:fldChar w:fldCharType="separate"/></w:r><w:r><w:t>included</w:t></w:r>'
    '<w:r><w:fldChar w:fldCharType="end"/></w:r></w:p>'
    '<w:p><w:hyperlink r:id="rIdExtLink"><w:r><w:t>KEEP-THIS-LINK-TEXT</w:t></w:r>'
    '</w:hyperlink></w:p>'
    '<w:p><w:r><w:pict><v:shape id="vml1" style="width:10pt;height:10pt">'
    '<v:imagedata r:href="rIdExtVml" src="{url}/vml.png" o:title=""/></v:shape></w:pict>'
    '</w:r></w:p>'
)


def _external(rel_id: str, kind: str, target: str) -> str:
    return (f'<Relationship Id="{rel_id}" Type="{_REL}{kind}" Target="{target}" '
            f'TargetMode="External"/>')


def linked_docx(url: str) -> bytes:
    """Return a .docx with an external image, template, fields, VML image and hyperlink."""
    base = build_docx("Tài liệu có liên kết ngoài", ["Nội dung hợp lệ."], code="QT-09")
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(base)) as src, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "word/document.xml":
                text = data.decode()
                extra = (_IMAGE + _FIELDS).replace("{url}", url)
                data = text.replace("<w:body>", "<w:body>" + extra, 1).encode()
            elif info.filename == "word/_rels/document.xml.rels":
                rels = (_external("rIdExtImage", "image", f"{url}/linked.png")
                        + _external("rIdExtLink", "hyperlink", f"{url}/page")
                        + _external("rIdExtVml", "image", f"{url}/vml-rel.png"))
                data = data.decode().replace("</Relationships>", rels + "</Relationships>")
                data = data.encode()
            elif info.filename == "word/settings.xml":
                text = data.decode()
                start = text.index(">", text.index("<w:settings")) + 1
                text = (text[:start] + '<w:attachedTemplate r:id="rIdTemplate"/>'
                        + text[start:])
                data = text.encode()
            dst.writestr(info.filename, data)
        dst.writestr("word/_rels/settings.xml.rels", (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            + _external("rIdTemplate", "attachedTemplate", f"{url}/template.dotx")
            + "</Relationships>").encode())
    return out.getvalue()


class Listener:
    """A plain TCP listener on 127.0.0.1 that records every connection it accepts."""

    def __init__(self, port: int):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.requests: list[bytes] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> Listener:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(5)
        self.sock.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _addr = self.sock.accept()
            except TimeoutError:
                continue
            with conn:
                conn.settimeout(1)
                try:
                    self.requests.append(conn.recv(4096) or b"<connected, nothing sent>")
                    conn.sendall(b"HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\n\r\n")
                except OSError:
                    self.requests.append(b"<connected>")


def with_marker(marker: str) -> list[str]:
    """Return the command lines of live processes that carry marker."""
    return [cmdline for _pid, cmdline in marked(marker)]


def marked(marker: str) -> list[tuple[int, str]]:
    """Return pid and command line of every live (not zombie) process carrying marker."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            state = next((line for line in (entry / "status").read_text().splitlines()
                          if line.startswith("State:")), "")
        except OSError:
            continue
        if marker in cmdline and "zombie" not in state:
            found.append((int(entry.name), cmdline))
    return found


def gone(marker: str, wait: float = 10.0) -> list[str]:
    """Wait for the processes carrying marker to end; return those still alive."""
    deadline = time.monotonic() + wait
    while (alive := with_marker(marker)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return alive
