"""Moving in (issue #10): a fresh instance, set up by its admin, fed by its secretary's import."""

import io
import os
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from bench.server import ROOT, Server, docctl_command
from tests.fixtures.agency import agency_rows, write_agency, zip_folder

CHROMIUM = os.environ.get("DOCCTL_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run"]
ADMIN_PASSWORD = "nine lanterns over the river"
SECRETARY_PASSWORD = "paper boats on the quiet lake"
SECRETARY_OWN = "a heron counts the reeds slowly"
STAFF_PASSWORD = "seven kites above the rice field"
FORM = "BM-01-01"            # a form of QT-01 in the generated agency folder


@pytest.fixture
def fresh(tmp_path):
    """Return a running `docctl serve` on a data folder made by `docctl init` (no demo)."""
    if not shutil.which(CHROMIUM) and not os.path.exists(CHROMIUM):
        pytest.skip(f"Chromium not installed at {CHROMIUM} (apt-get install -y chromium)")
    pytest.importorskip("playwright.sync_api", reason="playwright package not installed")
    data = tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOCCTL_")}
    env.update(DOCCTL_DATA_DIR=str(data), PYTHONPATH=str(ROOT))
    done = subprocess.run(
        [*docctl_command(), "init", "--org", "Ủy ban nhân dân xã An Bình", "--admin", "admin",
         "--admin-name", "Nguyễn Quản Trị", "--password-stdin"],
        cwd=ROOT, env=env, input=ADMIN_PASSWORD + "\n", capture_output=True, text=True,
        timeout=120)
    assert done.returncode == 0, done.stderr
    assert "created administrator admin" in done.stdout
    with Server(data, tmp_path / "server.log", env={"PYTHONPATH": str(ROOT)}) as server:
        yield f"http://127.0.0.1:{server.port}", server


@pytest.fixture
def browser():
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        instance = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield instance
        instance.close()


def sign_in(browser, base, username, password, *, phone=False):
    size = {"width": 390, "height": 844} if phone else {"width": 1280, "height": 900}
    page = browser.new_context(viewport=size, accept_downloads=True).new_page()
    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("form[action$='/login'] button[type=submit]")
    page.wait_for_load_state()
    return page


def shot(page, tmp_path, name):
    page.screenshot(path=str(tmp_path / f"{name}.png"), full_page=True)


def docx_text(data: bytes) -> str:
    """Return every paragraph's text of a .docx (body, headers, footers), one per line."""
    lines = []
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for name in archive.namelist():
            if name.startswith("word/") and name.endswith(".xml"):
                xml = archive.read(name).decode("utf-8")
                for para in re.findall(r"<w:p[ >].*?</w:p>", xml, flags=re.S):
                    lines.append("".join(re.findall(r"<w:t(?: [^>]*)?>([^<]*)</w:t>", para)))
    return "\n".join(lines)


def test_fresh_instance_admin_secretary_import_staff_copy(fresh, browser, tmp_path):
    base, server = fresh

    # The administrator: first-day checklist, a department, the secretary and a staff user.
    admin = sign_in(browser, base, "admin", ADMIN_PASSWORD)
    assert admin.url == f"{base}/"
    assert admin.locator("#h-setup").count() == 1          # the first-day checklist
    assert admin.locator(".setup-steps li.todo").count() == 3
    shot(admin, tmp_path, "01-admin-checklist")
    admin.click(".setup-steps a[href$='/admin/departments']")
    assert admin.locator("label[for=f-name]").inner_text() == "Tên đơn vị"   # not a person's
    admin.fill("#f-code", "VP")
    admin.fill("#f-name", "Văn phòng")
    admin.fill("#f-name_en", "Office")
    admin.click("form[action$='/admin/departments'] button[type=submit]")
    admin.wait_for_load_state()
    assert "Văn phòng" in admin.locator("table").inner_text()
    shot(admin, tmp_path, "02-admin-departments")
    for username, name, role, password in [
            ("thuha", "Trần Thị Thu Hà", "controller", SECRETARY_PASSWORD),
            ("lan", "Hoàng Thị Lan", "staff", STAFF_PASSWORD)]:
        admin.goto(f"{base}/admin/users/new")
        admin.fill("#f-username", username)
        admin.fill("#f-display_name", name)
        admin.check(f"#f-role-{role}")
        admin.select_option("#f-department", "VP")
        admin.fill("#f-password", password)
        admin.click("form[action$='/admin/users/new'] button[type=submit]")
        admin.wait_for_url(f"{base}/admin/users")
        assert name in admin.locator("main").inner_text()
    shot(admin, tmp_path, "03-admin-users")
    admin.goto(f"{base}/")
    assert admin.locator(".setup-steps li.done").count() == 2
    # The admin may not import (it is the secretary's work): no link to a refusal.
    assert admin.locator(".setup-steps a[href$='/import']").count() == 0
    assert "thư ký ISO" in admin.locator(".setup-steps li.todo").inner_text()
    assert admin.goto(f"{base}/import").status == 403

    # The secretary: her first sign-in, then the agency folder as a .zip, dry run, import.
    secretary = sign_in(browser, base, "thuha", SECRETARY_PASSWORD)
    if "/account/password" in secretary.url:              # a forced change, if required
        secretary.fill("#f-current", SECRETARY_PASSWORD)
        secretary.fill("#f-new", SECRETARY_OWN)
        secretary.click("form[action$='/account/password'] button[type=submit]")
        secretary = sign_in(browser, base, "thuha", SECRETARY_OWN)
    assert secretary.url == f"{base}/"
    rows = agency_rows()
    assert rows[2][1] == FORM
    rows[2][5], rows[2][6] = 3, 1                           # the form is at issue 3, amendment 1
    folder = write_agency(tmp_path / "Hệ thống tài liệu xã An Bình", rows)
    archive = tmp_path / "he-thong-tai-lieu.zip"
    archive.write_bytes(zip_folder(folder))
    secretary.click("nav.main-nav >> text=Nhập tài liệu")   # the menu leads to the import
    secretary.wait_for_url(f"{base}/import")
    shot(secretary, tmp_path, "04-import-start")
    secretary.set_input_files("#f-archive", str(archive))
    secretary.click("form[action$='/import/preview'] button[type=submit]")
    secretary.wait_for_url(f"{base}/import/preview")
    table = secretary.locator("table.import-rows").inner_text()
    shot(secretary, tmp_path, "05-dry-run")
    secretary.set_viewport_size({"width": 390, "height": 844})
    shot(secretary, tmp_path, "05-dry-run-phone")
    secretary.set_viewport_size({"width": 1280, "height": 900})
    assert FORM in table and "QT-01" in table and "STCL" in table
    assert "03.01" in table                                  # the form's label, as the list says
    assert secretary.locator("tr.import-import").count() == len(rows)
    assert secretary.locator("tr.import-error").count() == 0
    secretary.click("form[action$='/import/confirm'] button[type=submit]")
    secretary.wait_for_url(re.compile(rf"{re.escape(base)}/import/\d+$"))
    for _ in range(240):                                     # until the run has finished
        state = secretary.get_attribute("#import-progress", "data-state")
        if state != "running":
            break
        secretary.wait_for_timeout(500)
        secretary.reload()
    assert state == "done", secretary.locator("main").inner_text()
    shot(secretary, tmp_path, "06-import-done")
    assert FORM in secretary.locator("table.import-rows").inner_text()

    # Staff: finds the imported form by its code as one would type it, and downloads a copy.
    staff = sign_in(browser, base, "lan", STAFF_PASSWORD, phone=True)
    for _ in range(120):                                     # the scheduler indexes the import
        staff.goto(f"{base}/search?q=bm0101")
        if staff.locator(f"main a[href$='/documents/{FORM}']").count():
            break
        staff.wait_for_timeout(500)
    shot(staff, tmp_path, "07-staff-search-code-phone")
    assert staff.locator(f"main a[href$='/documents/{FORM}']").count(), \
        staff.locator("main").inner_text()
    # What the journey meets that is wrong, collected so that one run names all of it.
    gaps = []
    if "03.01" not in staff.locator("main").inner_text():
        gaps.append("search hit: label 03.01 not shown")
    staff.goto(f"{base}/search?q=bieu mau 1 cua quy trinh 1")
    assert staff.locator(f"main a[href$='/documents/{FORM}']").count(), \
        staff.locator("main").inner_text()
    staff.locator(f"main a[href$='/documents/{FORM}']").first.click()
    staff.wait_for_url(f"**/documents/{FORM}")
    page = staff.locator("main").inner_text()
    if "03.01" not in page:
        gaps.append("document page: label 03.01 not shown")
    if "Ban hành lần đầu" in page:
        gaps.append("document page: the imported 03.01 is called 'First issue'")
    shot(staff, tmp_path, "08-staff-document-phone")
    with staff.expect_download() as download:
        staff.locator("a[href*='/revisions/1/download']").first.click()
    copy = download.value
    assert copy.suggested_filename.endswith(".docx")
    text = docx_text(Path(copy.path()).read_bytes())
    assert "BẢN KIỂM SOÁT / CONTROLLED COPY" in text
    if "Ủy ban nhân dân xã An Bình" not in text:
        gaps.append("stamp band: the organisation's name not printed")
    if "Lần ban hành: 03.01" not in text:
        gaps.append("stamp band: " + next(
            (line for line in text.splitlines() if "Lần ban hành:" in line), "no label line"))
    assert "Người tải / Downloaded by: Hoàng Thị Lan" in text
    assert "Nội dung của Biểu mẫu 1 của quy trình 1." in text   # the imported file itself
    staff.goto(f"{base}/documents")
    register = staff.locator("main").inner_text()
    shot(staff, tmp_path, "09-register-phone")
    assert FORM in register
    if "03.01" not in register:
        gaps.append("register: label 03.01 not shown")
    assert not gaps, "\n".join(gaps)
