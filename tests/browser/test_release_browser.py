"""In a browser: the secretary assembles a decision, the approver signs it, staff see the set."""

import os
import shutil

import docx
import pytest

from tests.browser.test_moving_in import ARGS, CHROMIUM
from tests.helpers import PASSWORD
from tests.services._live import LiveServer
from tests.services.test_releases import reviewed


@pytest.fixture
def browser():
    if not shutil.which(CHROMIUM) and not os.path.exists(CHROMIUM):
        pytest.skip(f"Chromium not installed at {CHROMIUM} (apt-get install -y chromium)")
    sync_api = pytest.importorskip("playwright.sync_api",
                                   reason="playwright package not installed")
    with sync_api.sync_playwright() as p:
        instance = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield instance
        instance.close()


def sign_in(browser, base, username, *, phone=False):
    size = {"width": 390, "height": 844} if phone else {"width": 1280, "height": 900}
    context = browser.new_context(viewport=size, accept_downloads=True, locale="vi-VN")
    page = context.new_page()
    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.press("input[name=password]", "Enter")   # the keyboard alone signs in
    page.wait_for_load_state()
    return page


def test_secretary_builds_a_release_approver_signs_staff_see_the_set(app, db, users, browser,
                                                                     tmp_path):
    if app.config["DATABASE_URL"].startswith("postgresql"):
        pytest.skip("the browser journey runs once, on SQLite (the services run on both)")
    for code in ("QT-01", "QT-02", "QT-03"):
        reviewed(users, code, word=f"từkhoá{code[-1]}")
    db.session.commit()
    with LiveServer(app, tmp_path / "server.log") as server:
        base = f"http://127.0.0.1:{server.port}"
        secretary = sign_in(browser, base, "controller")
        secretary.click("nav.main-nav >> text=Quyết định ban hành")
        secretary.click("text=Lập quyết định ban hành")
        secretary.fill("#f-number", "4500/qd-ubnd")          # typed without diacritics
        secretary.fill("#f-title", "Hệ thống quản lý chất lượng theo TCVN ISO 9001:2015")
        secretary.fill("#f-signer", "KT. CHỦ TỊCH\nPHÓ CHỦ TỊCH\nNguyễn Văn An")
        for code in ("QT-01", "QT-02", "QT-03"):
            secretary.check(f"input[name=issue][value='{code}:1']")
        secretary.screenshot(path=str(tmp_path / "release-new.png"), full_page=True)
        secretary.click("form[action$='/releases/new'] button[type=submit]")
        secretary.wait_for_load_state()
        assert "Đã lập Quyết định 4500/QĐ-UBND" in secretary.inner_text("main")
        release_url = secretary.url
        with secretary.expect_download() as download:
            secretary.click("a[href$='/decision.docx']")
        path = download.value.path()
        cells = "\n".join(c.text for t in docx.Document(path).tables for row in t.rows
                          for c in row.cells)
        assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in cells and "QT-03" in cells

        approver = sign_in(browser, base, "approver", phone=True)
        approver.goto(release_url)
        approver.fill("#f-password", PASSWORD)
        approver.press("#f-password", "Enter")
        approver.wait_for_load_state()
        text = approver.inner_text("main")
        assert "Đã ký Quyết định 4500/QĐ-UBND" in text and "Đang hiệu lực" in text
        approver.screenshot(path=str(tmp_path / "release-signed.png"), full_page=True)

        staff = sign_in(browser, base, "staff", phone=True)
        staff.goto(f"{base}/documents?release=4500-QD-UBND")
        rows = staff.locator("table.register tbody tr")
        assert rows.count() == 3
        assert "4500/QĐ-UBND" in rows.first.inner_text()
        staff.goto(f"{base}/documents/QT-02")
        assert "4500/QĐ-UBND" in staff.inner_text("main")
        staff.screenshot(path=str(tmp_path / "release-staff.png"), full_page=True)
        assert " 500 " not in server.log()
