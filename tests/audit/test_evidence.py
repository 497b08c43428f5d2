"""Issue #5 §5: evidence packages — complete, checkable with standard tools, recorded (R11)."""

import hashlib
import io
import json
import re
import shutil
import subprocess
import sys
import zipfile

import pytest
from sqlalchemy import select

from docctl.models import AuditEvent
from docctl.office import extract_text
from docctl.services import documents, evidence
from docctl.services.context import store
from tests.helpers import publish

README_SNIPPET_START = "     import hashlib, json"


@pytest.fixture
def package(two_revisions, login_as):
    """QT-01's evidence package (r1 superseded, r2 effective) as downloaded by the auditor."""
    login_as("staff").get("/documents/QT-01/revisions/2/download")
    response = login_as("auditor").get("/audit/documents/QT-01/evidence")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/zip"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    return response.data


def test_the_package_holds_every_revision_original_and_stamped(package, db, two_revisions):
    archive = zipfile.ZipFile(io.BytesIO(package))
    names = archive.namelist()
    assert all(name.isascii() and ".." not in name and not name.startswith("/")
               for name in names)
    assert {"README.txt", "SHA256SUMS", "manifest.json", "manifest.docx",
            "audit-entries.csv", "QT-01/r01/original/QT-01_r01.docx",
            "QT-01/r01/stamped/QT-01_r01_HET-HIEU-LUC.docx",
            "QT-01/r02/original/QT-01_r02.docx", "QT-01/r02/stamped/QT-01_r02.docx"} == set(names)
    manifest = json.loads(archive.read("manifest.json"))
    revisions = manifest["documents"][0]["revisions"]
    for rev in revisions:
        original = archive.read(rev["files"]["original"]["path"])
        assert hashlib.sha256(original).hexdigest() == rev["sha256"]
        assert original == store().read_file(rev["commit"], rev["git_path"])
        assert {s["meaning"] for s in rev["signatures"]} == {"prepared", "reviewed", "approved"}
        assert all(s["seal_verifies"] and s["content_sha256"] == rev["sha256"]
                   for s in rev["signatures"])
        stamped = extract_text(archive.read(rev["files"]["stamped"]["path"]))
        assert "Người dùng auditor" in stamped
    assert [r["status"] for r in revisions] == ["superseded", "effective"]
    assert revisions[1]["tag"] == "QT-01/r2" and revisions[1]["reason"] == "Sửa đổi bước 2"
    assert manifest["generated_by"]["username"] == "auditor"
    entries = manifest["audit_entries"]
    db.session.expire_all()
    stored = db.session.scalars(select(AuditEvent.seq).where(
        AuditEvent.document_code == "QT-01").order_by(AuditEvent.seq)).all()
    assert [e["seq"] for e in entries] == stored[:-1]   # all but its own download, in order
    assert any(e["action"] == "download" and e["actor_name"] == "Người dùng staff"
               for e in entries)
    text = extract_text(archive.read("manifest.docx"))
    for fact in (revisions[0]["sha256"], revisions[1]["commit"], "QT-01/r2",
                 "Người dùng approver — tài khoản / account approver", "Sửa đổi bước 2",
                 "Đang hiệu lực / Effective", "Hết hiệu lực (đã được thay thế) / Superseded",
                 "Người phê duyệt / Approved by", "Tải về / Downloaded",
                 "Chuyên gia đánh giá / Auditor", "Hợp lệ / Verifies"):
        assert fact in text, fact
    # Words a person reads: no raw keys, no doubled "(auditor, auditor)", no ISO dates.
    cells = set(re.split(r"[\n\t]", text))
    for raw in ("effective", "superseded", "approved", "download", "staff", "auditor"):
        assert raw not in cells, raw
    assert "(auditor, auditor)" not in text
    iso = re.search(r"\b20\d\d-\d\d-\d\d\b", text)
    assert not iso, text[iso.start() - 200:iso.end() + 50]
    readme = archive.read("README.txt").decode()
    assert "(auditor, auditor)" not in readme and "Chuyên gia đánh giá / Auditor" in readme
    assert re.search(r"Lập lúc / Generated: +\d\d/\d\d/\d{4} \d\d:\d\d", readme)


def test_the_readme_checks_work_as_written(package, tmp_path, app):
    zipfile.ZipFile(io.BytesIO(package)).extractall(tmp_path)
    readme = (tmp_path / "README.txt").read_text()
    if shutil.which("sha256sum"):
        result = subprocess.run(["sha256sum", "-c", "SHA256SUMS"], cwd=tmp_path,
                                capture_output=True, text=True)
        assert result.returncode == 0 and result.stdout.count(": OK") == 8, result.stdout
    lines = (tmp_path / "SHA256SUMS").read_text().splitlines()
    for line in lines:
        digest, name = line.split("  ", 1)
        assert hashlib.sha256((tmp_path / name).read_bytes()).hexdigest() == digest
    # Step 3: `git -C repo_store show <commit>:<git_path> | sha256sum`
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    rev = manifest["documents"][0]["revisions"][1]
    shown = subprocess.run(["git", "-C", app.config["REPO_STORE"], "show",
                            f"{rev['commit']}:{rev['git_path']}"], capture_output=True).stdout
    assert hashlib.sha256(shown).hexdigest() == rev["sha256"]
    peeled = subprocess.run(["git", "-C", app.config["REPO_STORE"], "rev-parse",
                             f"{rev['tag']}^{{commit}}"], capture_output=True, text=True)
    assert peeled.stdout.strip() == rev["commit"]
    assert 'rev-parse "<tag>^{commit}"' in readme and "git tag -v` does not apply" in readme
    # Step 6: the Python recipe recomputes every audit hash from manifest.json.
    snippet = readme[readme.index(README_SNIPPET_START):readme.index("   The entries here")]
    code = "\n".join(line[5:] for line in snippet.splitlines())
    subprocess.run([sys.executable, "-c", code], cwd=tmp_path, check=True)


def test_its_download_is_recorded_with_its_hash(package, db):
    entry = db.session.scalars(select(AuditEvent).where(
        AuditEvent.action == "evidence_downloaded")).one()
    details = json.loads(entry.details)
    assert details["sha256"] == hashlib.sha256(package).hexdigest()
    assert details["size"] == len(package) and entry.document_code == "QT-01"
    assert entry.actor_role == "auditor"


def test_the_api_and_the_register_package(two_revisions, login_as, clock, db):
    documents.register_document(two_revisions["controller"], {
        "type": "procedure", "title": "Quy trình Đánh giá", "department": "VP",
        "code": "QT-ĐG-01"})
    publish(two_revisions, "QT-ĐG-01", text="đánh giá")
    auditor = login_as("auditor")
    response = auditor.get("/api/v1/documents/QT-%C4%90G-01/evidence")
    assert response.status_code == 200
    names = zipfile.ZipFile(io.BytesIO(response.data)).namelist()
    assert "QT-DG-01/r01/original/QT-DG-01_r01.docx" in names
    assert all(name.isascii() for name in names)

    whole = zipfile.ZipFile(io.BytesIO(auditor.get("/audit/evidence").data))
    codes = [d["code"] for d in json.loads(whole.read("manifest.json"))["documents"]]
    assert codes == ["QT-01", "QT-ĐG-01"]
    today = clock.today().strftime("%d/%m/%Y")
    recent = zipfile.ZipFile(io.BytesIO(auditor.get(
        f"/audit/evidence?from={today}&to={today}").data))
    manifest = json.loads(recent.read("manifest.json"))
    # QT-01 r1 was created two days ago but superseded today: it falls in the range too.
    assert [(d["code"], [r["number"] for r in d["revisions"]])
            for d in manifest["documents"]] == [("QT-01", [1, 2]), ("QT-ĐG-01", [1])]
    old = zipfile.ZipFile(io.BytesIO(auditor.get("/audit/evidence?to=01/01/2000").data))
    assert json.loads(old.read("manifest.json"))["documents"] == []
    assert login_as("staff").get("/api/v1/documents/QT-01/evidence").status_code == 403


def test_a_file_that_fails_its_hash_is_left_out_and_alerted(two_revisions, db, users):
    from sqlalchemy import text
    rev = documents.get_revision(users["auditor"], "QT-01", 1)
    db.session.execute(text("UPDATE revision SET sha256 = :h WHERE id = :i"),
                       {"h": "0" * 64, "i": rev.id})
    db.session.commit()
    package = evidence.document_package(users["auditor"], "QT-01")
    archive = zipfile.ZipFile(package.file)
    manifest = json.loads(archive.read("manifest.json"))
    first = manifest["documents"][0]["revisions"][0]
    assert first["files"] == {} and "does not match" in first["problem"]
    assert "QT-01/r01/original/QT-01_r01.docx" not in archive.namelist()
    alert = db.session.scalars(select(AuditEvent).where(
        AuditEvent.action == "integrity_alert")).one()
    assert alert.revision_number == 1
