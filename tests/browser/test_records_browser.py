"""In a browser: staff file a record on their form, another department cannot, the auditor
opens it, and the records pages are readable on a phone."""

import os
import re
import shutil
from pathlib import Path

import pytest

from docctl.models import Department
from tests.browser.test_moving_in import ARGS, CHROMIUM
from tests.fixtures.formats import text_pdf
from tests.helpers import PASSWORD, make_user
from tests.services._live import LiveServer
from tests.services.test_record_types import build_records_world

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


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
    context = browser.new_context(viewport=PHONE if phone else DESKTOP, accept_downloads=True,
                                  locale="vi-VN")
    page = context.new_page()
    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.press("input[name=password]", "Enter")
    page.wait_for_load_state()
    return page


def overflow(page) -> int:
    """Return how far the page is wider than the window (0: no sideways scrolling)."""
    return page.evaluate("document.documentElement.scrollWidth - window.innerWidth")


def test_staff_file_a_record_the_auditor_opens_it_and_a_phone_reads_the_list(
        app, db, users, clock, browser, tmp_path):
    # QT-05 in force declares BM-05-a kept by VP (the staff's department) for 10 năm; the
    # live server runs on the real clock, long after that revision took effect.
    build_records_world(clock, users)
    outsider = make_user("ketoan", "staff", "Hoàng Văn Toán")
    outsider.department_id = db.session.query(Department).filter_by(code="QLKH").one().id
    db.session.commit()
    scan = text_pdf(["Phieu tiep nhan ho so so 0042/TN"])
    pdf = tmp_path / "phieu-0042.pdf"
    pdf.write_bytes(scan)
    with LiveServer(app, tmp_path / "server.log") as server:
        base = f"http://127.0.0.1:{server.port}"

        staff = sign_in(browser, base, "staff")
        staff.click("nav.main-nav >> text=Hồ sơ lưu")
        staff.click("main .page-head >> text=Lưu hồ sơ")
        assert staff.url.endswith("/records/new")
        staff.select_option("#f-form", "BM-05-a")
        staff.fill("#f-reference", "0042/TN")
        staff.set_input_files("#f-file", str(pdf))
        staff.screenshot(path=str(tmp_path / "record-new.png"), full_page=True)
        staff.click("main form[enctype] button[type=submit]")
        staff.wait_for_load_state()
        text = staff.inner_text("main")
        assert "Đã lưu hồ sơ HS-" in text, text[:400]
        slug = re.search(r"HS-\d{4}-\d{6}", staff.inner_text("h1")).group()
        record_url = staff.url
        assert "BM-05-a" in text and "10 năm" in text and "0042/TN" in text
        staff.goto(f"{base}/records")
        rows = staff.locator("table.stack tbody tr")
        assert rows.count() == 1 and slug in rows.first.inner_text()

        outsider_page = sign_in(browser, base, "ketoan")
        outsider_page.goto(f"{base}/records/new")
        offered = outsider_page.locator("#f-form option").all_inner_texts()
        assert not any("BM-05-a" in option for option in offered)
        outsider_page.goto(f"{base}/records")
        assert slug not in outsider_page.inner_text("main")
        assert outsider_page.goto(record_url).status == 404

        auditor = sign_in(browser, base, "auditor")
        auditor.click("nav.main-nav >> text=Hồ sơ lưu")
        auditor.click(f"main table >> text={slug}")
        auditor.wait_for_load_state()
        assert auditor.url == record_url
        assert "phieu-0042.pdf" in auditor.inner_text("main")
        with auditor.expect_download() as download:
            auditor.click("main a[href$='/file']")
        assert Path(download.value.path()).read_bytes() == scan

        phone = sign_in(browser, base, "staff", phone=True)
        for path in ("/records", "/records/new", record_url.removeprefix(base)):
            phone.goto(base + path)
            name = path.strip("/").replace("/", "-")
            phone.screenshot(path=str(tmp_path / f"phone-{name}.png"), full_page=True)
            assert overflow(phone) <= 0, f"{path} scrolls sideways on a phone"
            if path == "/records":
                assert slug in phone.inner_text("main table.stack")
        assert " 500 " not in server.log()
