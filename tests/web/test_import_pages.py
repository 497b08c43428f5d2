"""Import through the pages: upload a .zip, see the dry run, confirm, follow the progress."""

import io
import re
import stat
import time
import zipfile

import pytest

from docctl import dbengine
from docctl.extensions import db
from docctl.models import Document, ImportRun
from docctl.services import indexing
from tests.fixtures.agency import agency_rows, write_agency, zip_folder
from tests.helpers import csrf_token


@pytest.fixture
def secretary(login_as, users):
    return login_as("controller")


def upload(client, data: bytes, name: str = "agency.zip"):
    return client.post("/import/preview", data={
        "csrf_token": csrf_token(client),
        "archive": (io.BytesIO(data), name)}, content_type="multipart/form-data")


def wait_for(client, run_id: int) -> dict:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        status = client.get(f"/import/{run_id}/status").get_json()
        if status["state"] != "running":
            return status
        time.sleep(0.2)
    raise AssertionError("the import did not finish in 120 s")


def test_upload_preview_confirm_progress_report(secretary, tmp_path, app):
    data = zip_folder(write_agency(tmp_path / "agency"))
    page = upload(secretary, data)
    html = page.get_data(as_text=True)
    assert page.status_code == 200, html[:500]
    assert "QT-01" in html and "26/01/2026" in html and "03.01" in html
    assert "7 to import, 0 skipped, 0 refused" in html or "7" in html
    assert "Thumbs.db" not in html and "~$" not in html
    token = re.search(r'name="token" value="([0-9a-f]{32})"', html).group(1)
    with dbengine.reading():
        assert Document.query.count() == 0   # the preview changed nothing
    db.session.rollback()   # hold no lock while the import thread writes

    # Without the CSRF token the confirmation is refused.
    refused = secretary.post("/import/confirm", data={"token": token, "name": "agency.zip"})
    assert refused.status_code == 400
    response = secretary.post("/import/confirm", data={
        "csrf_token": csrf_token(secretary), "token": token, "name": "agency.zip"})
    assert response.status_code == 302
    run_id = int(response.headers["Location"].rstrip("/").split("/")[-1])
    status = wait_for(secretary, run_id)
    assert (status["state"], status["done"], status["total"]) == ("done", 7, 7)
    assert {r["action"] for r in status["report"]} == {"import"}
    assert set(status["report"][0]) == {"row", "file", "code", "action", "issue", "amendment",
                                        "effective_date", "message"}
    with dbengine.reading():
        assert Document.query.filter_by(status="effective").count() == 7
    db.session.rollback()
    report = secretary.get(f"/import/{run_id}").get_data(as_text=True)
    assert "Import report" in report or "Báo cáo" in report
    assert "BM-02-02" in report
    # The start page leads back to the run.
    assert f"/import/{run_id}" in secretary.get("/import").get_data(as_text=True)
    # The staged zip is gone once imported; confirming it again is refused.
    again = secretary.post("/import/confirm", data={
        "csrf_token": csrf_token(secretary), "token": token, "name": "agency.zip"})
    assert again.status_code == 302 and again.headers["Location"].endswith("/import")
    indexing.catch_up()


def test_preview_highlights_errors(secretary, tmp_path):
    rows = agency_rows()
    rows[1][4] = "Phòng Không Có"
    html = upload(secretary, zip_folder(write_agency(tmp_path / "a", rows))) \
        .get_data(as_text=True)
    assert "row-error" in html and "Phòng Không Có" in html


def _zip(entries: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in entries.items():
            if name.startswith("link:"):
                info = zipfile.ZipInfo(name[5:])
                info.external_attr = (stat.S_IFLNK | 0o777) << 16
                archive.writestr(info, content)
            else:
                archive.writestr(name, content)
    return out.getvalue()


@pytest.mark.parametrize("entries,words", [
    ({"../evil.docx": b"x"}, "trỏ ra ngoài"),
    ({"/etc/passwd": b"x"}, "đường dẫn tuyệt đối"),
    ({"inner.zip": b"PK"}, "tệp nén khác"),
    ({f"f{i}.txt": b"" for i in range(10_000)}, "10000 mục"),
    ({"bomb.docx": b"\0" * (4 * 1024 * 1024)}, "lớn bất thường"),
    ({"link:QT-01.docx": b"/etc/passwd"}, "liên kết"),
    ({"a\\..\\..\\evil.docx": b"x"}, "trỏ ra ngoài"),
])
def test_hostile_zips_are_refused_with_their_reason(secretary, entries, words):
    """Each refusal names its reason (in Vietnamese, the default language)."""
    response = upload(secretary, _zip(entries))
    assert response.status_code in (413, 415), response.status_code
    assert words in response.get_data(as_text=True)
    with dbengine.reading():
        assert ImportRun.query.count() == 0
    db.session.rollback()


def test_not_a_zip(secretary):
    response = upload(secretary, b"hello", "x.zip")
    assert response.status_code == 415


def test_staff_and_auditors_cannot_import(login_as, users):
    for username in ("staff", "auditor"):
        client = login_as(username)
        assert client.get("/import").status_code == 403
        assert client.get("/import/1/status").status_code == 403


def test_status_of_another_run_is_not_found(secretary):
    assert secretary.get("/import/999/status").status_code == 404


def test_a_run_whose_worker_died_says_so(secretary, users):
    """A run left 'running' by a dead process (its lock is free) is reported interrupted."""
    from docctl.services import importing
    run = importing.begin(users["controller"], "agency.zip")
    db.session.rollback()
    status = secretary.get(f"/import/{run.id}/status").get_json()
    assert status["state"] == "failed"
    assert "gián đoạn" in status["report"][0]["message"]


def test_a_run_at_work_stays_running(secretary, users):
    from docctl.services import importing, importlock
    run = importing.begin(users["controller"], "agency.zip")
    db.session.rollback()
    fd = importlock.hold_run(run.id)   # as its worker does
    try:
        assert secretary.get(f"/import/{run.id}/status").get_json()["state"] == "running"
    finally:
        importlock.release_run(run.id, fd)
