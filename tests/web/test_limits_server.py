"""Limits that agree, over real gunicorn: 504 for a hung PDF, 413 at any size, start refused."""

from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest

from bench.server import Browser, free_port
from config import LimitsError, TestingConfig
from docctl import create_app
from docctl.extensions import db
from docctl.models import Department
from docctl.services import documents
from tests.helpers import PASSWORD, make_user, publish
from tests.office.linked import gone, marked, with_marker

ROOT = Path(__file__).resolve().parents[2]
UPLOAD_MB = 20
LIMIT = (UPLOAD_MB + 1) * 1024 * 1024          # MAX_CONTENT_LENGTH for that upload cap
TOO_LARGE_VI = "Tệp tải lên vượt quá dung lượng cho phép."
TIMEOUT_VI = "Việc tạo bản PDF mất quá nhiều thời gian nên đã bị dừng"
PDF_URL = "/documents/QT-01/revisions/1/download?format=pdf"




def _env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOCCTL_")}
    # The data folder's signatures were sealed with the test key: the server must use it too.
    env.update(DOCCTL_DATA_DIR=str(data_dir), DOCCTL_SECRET_KEY=TestingConfig.SECRET_KEY,
               **extra)
    return env


def _gunicorn(port: int) -> list[str]:
    return [sys.executable, "-m", "gunicorn", "--config", "python:docctl.gunicorn_conf",
            "--workers", "2", "--bind", f"127.0.0.1:{port}", "--no-control-socket",
            "docctl.wsgi:app"]


class Gunicorn:
    """gunicorn with docctl's config on 127.0.0.1, in its own session, stopped on exit."""

    def __init__(self, env: dict[str, str], log: Path):
        self.port = free_port()
        self.log = log
        with open(log, "wb") as out:
            self.proc = subprocess.Popen(_gunicorn(self.port), cwd=ROOT, env=env,
                                         stdin=subprocess.DEVNULL, stdout=out,
                                         stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, log.read_text()[-2000:]
            try:
                if self.request("GET", "/login")[0] == 200:
                    return
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"gunicorn not ready:\n{log.read_text()[-2000:]}")

    def request(self, method: str, path: str, *, body=None, headers: dict | None = None,
                chunked: bool = False):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            conn.request(method, path, body=body, headers=headers or {},
                         encode_chunked=chunked)
            response = conn.getresponse()
            return response.status, response.getheaders(), response.read()
        finally:
            conn.close()

    def workers(self) -> set[int]:
        return {pid for pid in _all_pids() if _ppid(pid) == self.proc.pid}

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


def _all_pids() -> list[int]:
    return [int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit()]


def _ppid(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[1])


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    """A data folder with users and one effective procedure, QT-01 revision 1."""
    root = tmp_path_factory.mktemp("limits") / "data"

    class Settings(TestingConfig):
        DATA_DIR = str(root)

    app = create_app(Settings, RATELIMIT_ENABLED=False)
    with app.app_context():
        db.create_all()
        db.session.add(Department(code="VP", name="Văn phòng"))
        db.session.commit()
        users = {role: make_user(role, role) for role in
                 ("admin", "controller", "reviewer", "approver", "staff")}
        documents.register_document(users["controller"], {
            "type": "procedure", "title": "Quy trình kiểm soát tài liệu", "department": "VP"})
        publish(users, "QT-01", text="phiên bản một")
        db.session.remove()
        db.engine.dispose()
        app.extensions["docctl.store"].close()
    return root


@pytest.fixture(scope="module")
def marker() -> str:
    return f"docctl-hung-soffice-{uuid.uuid4().hex}"


@pytest.fixture(scope="module")
def server(data_dir, marker, tmp_path_factory):
    """gunicorn whose LibreOffice hangs (a fake that forks a child and sleeps)."""
    work = tmp_path_factory.mktemp("server")
    python = shutil.which("python3") or sys.executable
    fake = work / "soffice"
    fake.write_text("#!/bin/sh\n"
                    f"{python} -c 'import time; time.sleep(600)' {marker}-child &\n"
                    f"exec {python} -c 'import time; time.sleep(600)' {marker}\n")
    fake.chmod(0o755)
    (work / "tmp").mkdir()
    env = _env(data_dir, DOCCTL_SOFFICE_PATH=str(fake), DOCCTL_PDF_TIMEOUT="3",
               DOCCTL_MAX_UPLOAD_MB=str(UPLOAD_MB), TMPDIR=str(work / "tmp"))
    running = Gunicorn(env, work / "gunicorn.log")
    running.tmp = work / "tmp"
    yield running
    running.stop()


def test_hung_conversion_answers_504_translated_and_leaves_no_process(server, marker):
    browser = Browser(server)
    browser.login("staff", PASSWORD)
    status, body = browser.request("GET", PDF_URL)
    assert status == 504
    assert TIMEOUT_VI in body.decode()
    assert gone(marker) == []
    status, body = browser.request("GET", "/api/v1/documents/QT-01/revisions/1/file?format=pdf")
    assert status == 504
    answer = json.loads(body)
    assert answer["error"] == "rendition_timeout" and TIMEOUT_VI in answer["message"]
    assert gone(marker) == []


def test_worker_killed_mid_conversion_leaves_no_soffice(server, marker):
    browser = Browser(server)
    browser.login("staff", PASSWORD)
    outcome: list[object] = []

    def download():
        try:
            outcome.append(browser.request("GET", PDF_URL)[0])
        except (OSError, http.client.HTTPException) as exc:
            outcome.append(exc)

    thread = threading.Thread(target=download)
    thread.start()
    deadline = time.monotonic() + 10
    while len(with_marker(marker)) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    fakes = [pid for pid, cmdline in marked(marker) if not cmdline.strip().endswith("-child")]
    assert fakes, "the fake conversion never started"
    worker, workers = fakes[0], server.workers()
    while worker is not None and worker not in workers:   # climb to the gunicorn worker
        worker = _ppid(worker)
    assert worker in workers
    os.kill(worker, signal.SIGKILL)
    thread.join(30)
    # The worker died mid-request: the client saw no answer, not the 504 of the limit.
    assert outcome and not isinstance(outcome[0], int), outcome
    assert gone(marker) == []
    # The next conversion clears the dead worker's work folder (it held a stamped copy).
    assert list(server.tmp.glob(f"docctl-pdf-{worker}-*"))
    assert browser.request("GET", PDF_URL)[0] == 504   # the master replaced the worker
    assert list(server.tmp.glob(f"docctl-pdf-{worker}-*")) == []
    assert gone(marker) == []


def _multipart(size: int) -> tuple[bytes, dict[str, str]]:
    head = (b"--b0undary\r\nContent-Disposition: form-data; name=\"file\"; "
            b"filename=\"big.docx\"\r\nContent-Type: application/octet-stream\r\n\r\n")
    tail = b"\r\n--b0undary--\r\n"
    body = head + b"x" * (size - len(head) - len(tail)) + tail
    return body, {"Content-Type": "multipart/form-data; boundary=b0undary"}


@pytest.mark.parametrize("size", [LIMIT + 1, 50 * 1024 * 1024],
                         ids=["one-byte-over", "50-MB"])
def test_upload_over_the_limit_gets_413_with_a_message(server, size):
    before = set(server.tmp.iterdir())
    body, headers = _multipart(size)
    status, _headers, page = server.request("POST", "/documents/QT-01/upload", body=body,
                                            headers=headers)
    assert status == 413
    assert TOO_LARGE_VI in page.decode()
    status, _headers, answer = server.request("POST", "/api/v1/documents/QT-01/revisions",
                                              body=body, headers=headers)
    assert status == 413
    assert json.loads(answer)["message"] == TOO_LARGE_VI
    assert set(server.tmp.iterdir()) == before


def test_chunked_upload_over_the_limit_gets_413(server):
    before = set(server.tmp.iterdir())
    _, headers = _multipart(16)
    chunks = (b"y" * 1024 * 1024 for _ in range(40))   # 40 MiB, no Content-Length
    status, _headers, page = server.request("POST", "/documents/QT-01/upload", body=chunks,
                                            headers=headers, chunked=True)
    assert status == 413
    assert TOO_LARGE_VI in page.decode()
    assert set(server.tmp.iterdir()) == before


def test_misconfigured_limits_refuse_to_start(data_dir, tmp_path):
    env = _env(data_dir, DOCCTL_WORKER_TIMEOUT="20")
    done = subprocess.run(_gunicorn(free_port()), cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode != 0
    assert "refuses to start" in done.stderr and "DOCCTL_PDF_TIMEOUT=25" in done.stderr


def test_create_app_refuses_limits_longer_than_the_worker(tmp_path):
    class Settings(TestingConfig):
        DATA_DIR = str(tmp_path / "data")
        STORE_LOCK_TIMEOUT = 90.0

    with pytest.raises(LimitsError, match="DOCCTL_STORE_LOCK_TIMEOUT=90"):
        create_app(Settings)


def test_body_within_the_limit_that_is_never_read_still_gets_its_answer(server):
    # Not a form, so nothing parses it; the CSRF check refuses the request without reading it.
    body = b"z" * (LIMIT - 1024)
    status, _headers, page = server.request(
        "POST", "/documents/QT-01/upload", body=body,
        headers={"Content-Type": "application/octet-stream"})
    assert status == 400
    assert "<html" in page.decode().lower()
