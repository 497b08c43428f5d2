"""One person-shaped journey through the real pages in Debian's Chromium (Playwright)."""

import os
import shutil
import threading
from datetime import timedelta

import pytest
from werkzeug.serving import make_server

from config import TestingConfig
from docctl import create_app
from docctl.extensions import db
from docctl.models import Department
from tests.helpers import PASSWORD, docx_bytes, make_user, publish

CHROMIUM = os.environ.get("DOCCTL_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run"]


@pytest.fixture
def live(tmp_path):
    if not shutil.which(CHROMIUM) and not os.path.exists(CHROMIUM):
        pytest.skip(f"Chromium not installed at {CHROMIUM} (apt-get install -y chromium)")
    pytest.importorskip("playwright.sync_api", reason="playwright package not installed")

    class Settings(TestingConfig):
        DATA_DIR = str(tmp_path / "data")

    app = create_app(Settings, RATELIMIT_ENABLED=False)
    with app.app_context():
        db.create_all()
        db.session.add(Department(code="VP", name="Văn phòng Sở"))
        db.session.commit()
        people = {u: make_user(u, r, name).id for u, r, name in [
            ("secretary", "controller", "Trần Thị Thu Hà"),
            ("reviewer", "reviewer", "Lê Minh Tuấn"),
            ("approver", "approver", "Phạm Quốc Hùng"), ("staff", "staff", "Hoàng Thị Lan"),
            ("auditor", "auditor", "Đỗ Văn Bình")]}
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield app, people, f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    app.extensions["docctl.store"].close()


@pytest.fixture
def browser():
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        instance = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield instance
        instance.close()


def sign_in(browser, base, username):
    page = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("form[action$='/login'] button[type=submit]")
    page.wait_for_url(f"{base}/")
    return page


def test_secretary_reviewer_approver_staff(live, browser, tmp_path):
    app, people, base = live
    secretary = sign_in(browser, base, "secretary")
    secretary.goto(f"{base}/documents/new")
    secretary.select_option("select[name=type]", "procedure")
    secretary.fill("input[name=title]", "Quy trình tiếp nhận hồ sơ một cửa")
    secretary.select_option("select[name=department]", "VP")
    secretary.fill("input[name=code]", "QT-01")
    secretary.click("#new-document button[type=submit]")
    secretary.wait_for_url("**/documents/QT-01/upload")
    path = tmp_path / "Quy trình tiếp nhận.docx"
    path.write_bytes(docx_bytes("Tiếp nhận hồ sơ tại bộ phận một cửa"))
    secretary.set_input_files("input[name=file]", str(path))
    secretary.click("form[enctype='multipart/form-data'] button[type=submit]")
    secretary.wait_for_url("**/documents/QT-01/revisions/1")
    secretary.goto(f"{base}/documents/QT-01/revisions/1/submit")
    secretary.check("input[name=reviewers][value=reviewer]")
    secretary.select_option("select[name=approver]", "approver")
    secretary.click("form[action$='/submit'] button[type=submit]")
    secretary.wait_for_url("**/documents/QT-01/revisions/1")

    reviewer = sign_in(browser, base, "reviewer")
    assert "QT-01" in reviewer.content()            # in "my tasks"
    reviewer.goto(f"{base}/documents/QT-01/revisions/1")
    reviewer.fill("textarea[name=comment]", "Đồng ý ban hành")
    reviewer.click("button[name=decision][value=accept]")
    reviewer.wait_for_url("**/documents/QT-01/revisions/1")

    approver = sign_in(browser, base, "approver")
    approver.goto(f"{base}/documents/QT-01/revisions/1/approve")
    approver.fill("input[name=password]", "a wrong password")
    approver.click("button[name=decision][value=approve]")
    assert approver.locator("[role=alert]").count() >= 1   # refused, said so
    approver.fill("input[name=password]", PASSWORD)
    approver.click("button[name=decision][value=approve]")
    approver.wait_for_url("**/documents/QT-01/revisions/1")
    approver.screenshot(path=str(tmp_path / "approved.png"), full_page=True)

    # A second revision takes effect; staff must meet it and never the first.
    with app.app_context():
        from docctl.models import User
        from docctl.services.context import today
        publish({"controller": db.session.get(User, people["secretary"]),
                 "reviewer": db.session.get(User, people["reviewer"]),
                 "approver": db.session.get(User, people["approver"])},
                "QT-01", text="Bản sửa đổi lần hai", reason="Rút ngắn thời hạn",
                effective=today() + timedelta(days=0))

    staff = sign_in(browser, base, "staff")
    staff.goto(f"{base}/documents")
    assert "QT-01" in staff.content()
    staff.goto(f"{base}/documents/QT-01")
    body = staff.locator("main").inner_text()
    assert "Phạm Quốc Hùng" in body                   # approver's signature on screen
    assert "02" in body and "HẾT HIỆU LỰC" not in body
    with staff.expect_download() as download:
        staff.locator("a[href$='/revisions/2/download']").first.click()
    assert download.value.suggested_filename == "QT-01_r02.docx"
    assert staff.goto(f"{base}/documents/QT-01/revisions/1").status == 404
    staff.screenshot(path=str(tmp_path / "staff.png"), full_page=True)

    auditor = sign_in(browser, base, "auditor")
    auditor.goto(f"{base}/documents/QT-01/revisions/1")
    assert "HẾT HIỆU LỰC / OBSOLETE" in auditor.locator("main").inner_text()
