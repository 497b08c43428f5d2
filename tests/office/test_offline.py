"""Nothing reaches out: renditions, uploads, extraction and stamping fetch no linked content."""

from __future__ import annotations

import io
import shutil
import subprocess
import sys
import threading
import time
import uuid
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest

from docctl.office import extract_text, inspect_docx, pdf, stamp_copy
from docctl.office.offline import strip_external
from docctl.office.stamp import StampInfo
from tests.helpers import docx_bytes
from tests.office.linked import Listener, gone, linked_docx, with_marker

PORT = 5531
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def listener():
    with Listener(PORT) as server:
        yield server


def _parts(data: bytes) -> dict[str, str]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return {n: zf.read(n).decode("utf-8", "replace") for n in zf.namelist()
                if n.endswith((".xml", ".rels"))}


def _info() -> StampInfo:
    return StampInfo(code="QT-09", title="Tài liệu", revision=1, effective_date=None,
                     status="effective", downloaded_by="Người tải",
                     downloaded_at=datetime.now(UTC))


def test_every_reference_outside_the_package_is_dropped(listener):
    data = linked_docx(listener.url)
    assert "127.0.0.1" in "".join(_parts(data).values())   # the fixture does link out
    clean = strip_external(data)
    parts = _parts(clean)
    joined = "".join(parts.values())
    assert listener.url not in joined
    assert 'TargetMode="External"' not in joined
    assert "attachedTemplate" not in parts["word/settings.xml"]
    assert "INCLUDEPICTURE" not in joined and "INCLUDETEXT" not in joined
    assert 'r:link="rIdExtImage"' not in parts["word/document.xml"]
    # The text stays: the hyperlink's words and the fields' last results.
    text = extract_text(clean)
    for words in ("KEEP-THIS-LINK-TEXT", "simple", "complex", "included", "Nội dung hợp lệ."):
        assert words in text
    assert inspect_docx(clean).external_links == ()


def test_a_package_without_links_is_left_byte_for_byte():
    data = docx_bytes()
    assert strip_external(data) == data


def test_upload_extract_and_stamp_make_no_connection(listener):
    data = linked_docx(listener.url)
    info = inspect_docx(data)   # accepted, as before; the links are only recorded
    assert f"{listener.url}/template.dotx" in info.external_links
    assert "KEEP-THIS-LINK-TEXT" in extract_text(data)
    stamped = stamp_copy(data, _info())
    assert "KEEP-THIS-LINK-TEXT" in extract_text(stamped)
    time.sleep(0.3)
    assert listener.requests == []


@pytest.fixture
def soffice():
    path = pdf.find_soffice()
    if path is None:
        pytest.skip("LibreOffice (soffice) is not installed: the real rendition is not tried")
    return path


def test_real_libreoffice_rendition_fetches_nothing(listener, soffice, tmp_path):
    data = stamp_copy(linked_docx(listener.url), _info())
    result = pdf.to_pdf(data, soffice=soffice, profile_dir=str(tmp_path / "profile"))
    assert result.startswith(b"%PDF")
    time.sleep(0.5)   # a fetch would have arrived by now; the conversion is over
    assert listener.requests == []
    print(f"sandbox: {' '.join(pdf.sandbox()) or 'none (the system refuses unshare)'}")


def _script(path: Path, text: str) -> str:
    path.write_text(text)
    path.chmod(0o755)
    return str(path)


@pytest.fixture(params=["detected", "none"])
def sandbox(request, monkeypatch):
    """Run with the sandbox this system allows, then as on a system that allows none."""
    if request.param == "none":
        monkeypatch.setattr(pdf, "_sandbox", ())
    return pdf.sandbox()


def _fake(tmp_path: Path, marker: str) -> str:
    """Return a fake soffice that forks a child and sleeps, both carrying marker."""
    python = shutil.which("python3") or "/usr/bin/python3"
    return _script(tmp_path / "soffice", (
        "#!/bin/sh\n"
        f"{python} -c 'import time; time.sleep(600)' {marker}-child &\n"
        f"exec {python} -c 'import time; time.sleep(600)' {marker}\n"))


def _hanging_libreoffice(tmp_path: Path, soffice: str) -> str:
    """Return a wrapper that starts the real LibreOffice without a document: it never ends."""
    return _script(tmp_path / "soffice", (
        "#!/bin/sh\n"
        f'exec {soffice} "$1" --headless --norestore --nologo --nodefault\n'))


def test_hanging_conversion_is_killed_with_its_children(tmp_path, sandbox):
    marker = f"docctl-fake-soffice-{uuid.uuid4().hex}"
    with pytest.raises(pdf.RenditionTimeout) as caught:
        pdf.to_pdf(docx_bytes(), soffice=_fake(tmp_path, marker), timeout=1.5)
    assert caught.value.status == 504
    assert gone(marker) == []


def test_real_soffice_bin_dies_with_its_group_at_the_limit(soffice, tmp_path):
    profile = tmp_path / f"profile-{uuid.uuid4().hex}"
    wrapper = _hanging_libreoffice(tmp_path, soffice)
    seen: list[str] = []
    done = threading.Event()

    def watch():
        while not done.is_set() and not seen:
            seen.extend(c for c in with_marker(profile.name) if "soffice.bin" in c)
            time.sleep(0.1)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        with pytest.raises(pdf.RenditionTimeout):
            pdf.to_pdf(docx_bytes(), soffice=wrapper, profile_dir=str(profile), timeout=8)
    finally:
        done.set()
        watcher.join()
    assert seen, "soffice.bin never started, so nothing was tested"
    assert gone(profile.name) == []


_WORKER = """
import sys
from docctl.office import build_docx, pdf
if sys.argv[1] == "none":
    pdf._sandbox = ()
pdf.to_pdf(build_docx("T", ["x"]), soffice=sys.argv[2], timeout=60,
           profile_dir=sys.argv[3] or None)
"""


def _kill_worker_mid_conversion(soffice: str, marker: str, started, *,
                                profile: str = "") -> list[str]:
    """Start a stand-in worker, SIGKILL it mid-conversion; return the processes left."""
    mode = "none" if pdf.sandbox() == () else "detected"
    worker = subprocess.Popen([sys.executable, "-c", _WORKER, mode, soffice, profile],
                              cwd=ROOT, stdin=subprocess.DEVNULL)
    try:
        # Generous: on a loaded 2-core CI machine the worker's imports alone can take seconds.
        deadline = time.monotonic() + 90
        while not started() and time.monotonic() < deadline and worker.poll() is None:
            time.sleep(0.05)
        assert started(), (f"the conversion never started (worker exit code "
                           f"{worker.poll()}, marked processes {with_marker(marker)})")
    finally:
        worker.kill()
        worker.wait()
    return gone(marker)


def test_conversion_dies_with_the_worker_that_started_it(tmp_path, sandbox):
    marker = f"docctl-orphan-{uuid.uuid4().hex}"
    alive = _kill_worker_mid_conversion(_fake(tmp_path, marker), marker,
                                        lambda: len(with_marker(marker)) == 2)
    assert alive == []


def test_real_soffice_bin_dies_with_the_worker_that_started_it(soffice, tmp_path, sandbox):
    profile = tmp_path / f"profile-{uuid.uuid4().hex}"
    alive = _kill_worker_mid_conversion(
        _hanging_libreoffice(tmp_path, soffice), profile.name,
        lambda: any("soffice.bin" in c for c in with_marker(profile.name)),
        profile=str(profile))
    assert alive == []
