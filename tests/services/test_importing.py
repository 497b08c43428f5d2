"""Import an agency folder: dry run, import, re-run, failure half way; real git, real files."""

import json
from datetime import date

import pytest
from flask_babel import force_locale
from sqlalchemy import func, select

from docctl.errors import Forbidden
from docctl.extensions import db
from docctl.models import AuditEvent, Document, ImportRun, Intent, Revision, Signature
from docctl.services import importing, importsource, indexing, publishing, signatures
from docctl.services.context import store
from tests.fixtures.agency import agency_rows, write_agency


@pytest.fixture(autouse=True)
def english(app):
    """Read the messages in English here (the pages' Vietnamese is tested in tests/web)."""
    with force_locale("en"):
        yield


@pytest.fixture
def folder(tmp_path):
    return write_agency(tmp_path / "agency")


def _import(actor, folder):
    source = importsource.from_folder(str(folder))
    run = importing.begin(actor, source.name)
    plan = importing.carry_out(actor, run.id, source)
    indexing.catch_up()
    return run.id, plan


def test_dry_run_table_says_what_each_row_and_file_becomes(users, folder):
    plan = importing.dry_run(users["controller"], importsource.from_folder(str(folder)))
    rows = [r.as_json() for r in plan.rows]
    by_code = {r["code"]: r for r in rows}
    assert plan.ok, rows
    assert set(by_code) == {"STCL", "QT-01", "BM-01-01", "BM-01-02", "QT-02", "BM-02-01",
                            "BM-02-02"}
    assert all(r["action"] == "import" for r in rows)
    # 03sđ01 in the issue column; dd/mm/yyyy text; an Excel date; an Excel serial (45658).
    assert (by_code["QT-01"]["issue"], by_code["QT-01"]["amendment"]) == (3, 1)
    assert by_code["QT-01"]["effective_date"] == "2026-01-26"
    assert by_code["QT-02"]["effective_date"] == "2025-06-15"
    assert by_code["BM-01-01"]["effective_date"] == "2025-01-01"
    assert by_code["BM-01-01"]["file"] == "Biểu mẫu/BM-01-01.docx"
    assert by_code["STCL"]["row"] == 5   # below the three-line title block and the header
    # Litter is skipped silently: no row for the lock file, Thumbs.db, .DS_Store, hidden.
    assert not any(r["file"] and ("~$" in r["file"] or "Thumbs" in r["file"]
                                  or r["file"].startswith(".")) for r in rows)
    assert Document.query.count() == 0   # a dry run changes nothing


def test_file_with_no_row_and_row_with_no_file(users, folder):
    (folder / "Ghi chú.docx").write_bytes(b"PK")
    (folder / "QT-02.docx").unlink()
    plan = importing.dry_run(users["controller"], importsource.from_folder(str(folder)))
    rows = {(r.code, r.file): r for r in plan.rows}
    stray = rows[(None, "Ghi chú.docx")]
    assert stray.action == "skip" and "no row" in stray.message
    missing = next(r for r in plan.rows if r.code == "QT-02")
    assert missing.action == "error" and "No file QT-02.docx" in missing.message
    # Its forms wait for it.
    assert {r.action for r in plan.rows if r.code and r.code.startswith("BM-02")} == {"error"}
    assert not plan.ok


def test_import_publishes_each_document_at_its_numbers_signed_imported(users, folder, app):
    controller = users["controller"]
    run_id, plan = _import(controller, folder)
    assert plan.ok, [r.as_json() for r in plan.rows]
    run = db.session.get(ImportRun, run_id)
    assert (run.state, run.total, run.done) == ("done", 7, 7)
    assert [r["action"] for r in json.loads(run.report)] == ["import"] * 7

    qt = Document.query.filter_by(code_key="qt01").one()
    revision = qt.revisions[0]
    assert (qt.status, revision.status) == ("effective", "effective")
    assert (revision.issue, revision.amendment) == (3, 1)
    assert revision.effective_date == date(2026, 1, 26)
    assert revision.origin_approver == "Trần Thị Phó"
    assert revision.origin_approved_on == date(2026, 1, 20)
    assert revision.import_run_id == run_id and revision.commit_sha and revision.tag
    # Signed by the importer, meaning "imported"; nobody is shown as a docctl approver.
    signed = Signature.query.filter_by(revision_id=revision.id).all()
    assert [(s.user_id, s.meaning) for s in signed] == [(controller.id, "imported")]
    assert signatures.verifies(signed[0])
    assert revision.approver_id is None and revision.approved_at is None
    # Forms hang under their procedure (parents were registered first).
    form = Document.query.filter_by(code_key="bm0101").one()
    assert form.parent_id == qt.id and form.doc_type == "form"

    # One commit per document, with revision.json saying it was imported.
    gitstore = store()
    facts = json.loads(gitstore.read_file(
        revision.commit_sha, f"documents/QT/{qt.slug}/revision.json"))
    assert facts["imported"]["meaning"] == "imported"
    assert facts["original_approval"] == {"approver": "Trần Thị Phó",
                                          "approved_on": "2026-01-20"}
    assert facts["approved_by"] is None and facts["issue"] == 3 and facts["amendment"] == 1
    commits = Intent.query.filter_by(kind="import", state="done").count()
    assert commits == 7
    assert len({r.commit_sha for r in Revision.query.all()}) == 7

    actions = [a for (a,) in AuditEvent.query.with_entities(AuditEvent.action)]
    assert actions.count("document_imported") == 7
    assert "import_started" in actions and "import_finished" in actions


def test_commit_trailers_and_tag_are_real(users, folder):
    _import(users["controller"], folder)
    revision = Document.query.filter_by(code_key="qt01").one().revisions[0]
    repo_path = store().path
    import subprocess
    body = subprocess.run(["git", "-C", str(repo_path), "show", "-s", "--format=%B",
                           revision.commit_sha], capture_output=True, text=True,
                          check=True).stdout
    assert "Docctl-Action: import" in body
    assert "Imported-By: Người dùng controller <controller>" in body
    assert "Original-Approver: Trần Thị Phó" in body
    assert "Revision-Label: 03.01" in body
    assert "Approved-By" not in body
    tags = subprocess.run(["git", "-C", str(repo_path), "tag", "--list"], capture_output=True,
                          text=True, check=True).stdout.split()
    assert revision.tag in tags and len(tags) == 7


def test_rerun_changes_nothing(users, folder):
    _import(users["controller"], folder)
    head = store().head()
    counts = (Document.query.count(), Revision.query.count(), Signature.query.count())
    run_id, plan = _import(users["controller"], folder)
    assert plan.ok
    assert {r.action for r in plan.rows} == {"skip"}
    assert all("Already imported" in r.message for r in plan.rows)
    assert store().head() == head
    assert (Document.query.count(), Revision.query.count(), Signature.query.count()) == counts
    assert db.session.get(ImportRun, run_id).total == 0


def test_failure_half_way_keeps_finished_documents_and_says_which(users, folder,
                                                                  monkeypatch):
    real = publishing.publish_imported
    calls = []

    def failing(actor, revision, *, run_id):
        calls.append(revision.document.code)
        if len(calls) == 4:
            raise RuntimeError("disk on fire")
        return real(actor, revision, run_id=run_id)

    monkeypatch.setattr(publishing, "publish_imported", failing)
    run_id, plan = _import(users["controller"], folder)
    assert not plan.ok
    run = db.session.get(ImportRun, run_id)
    assert (run.state, run.done, run.total) == ("failed", 3, 7)
    report = json.loads(run.report)
    failed = [r for r in report if r["message"].startswith("Import failed")]
    assert len(failed) == 1 and failed[0]["code"] == calls[3]
    stopped = [r for r in report if "stopped at row" in r["message"]]
    assert len(stopped) == 3
    # The three before it are complete: effective, committed, signed.
    done = Revision.query.filter_by(status="effective").all()
    assert sorted(r.document.code for r in done) == sorted(calls[:3])
    assert all(r.commit_sha for r in done)
    # Nothing of the ones after it.
    assert Document.query.count() == 4   # the failed one is registered, unpublished
    assert Intent.query.filter_by(state="pending").count() == 0

    monkeypatch.setattr(publishing, "publish_imported", real)
    run_id, plan = _import(users["controller"], folder)
    assert plan.ok, [r.as_json() for r in plan.rows]
    actions = {r.code: r.action for r in plan.rows}
    assert [actions[c] for c in calls[:3]] == ["skip"] * 3
    assert actions[calls[3]] == "import"
    assert Revision.query.filter_by(status="effective").count() == 7
    assert Document.query.count() == 7


def test_staff_and_admin_cannot_import(users, folder):
    source = importsource.from_folder(str(folder))
    for role in ("staff", "admin", "auditor"):
        with pytest.raises(Forbidden):
            importing.dry_run(users[role], source)
        with pytest.raises(Forbidden):
            importing.begin(users[role], "x")


def test_imported_documents_are_found_by_search(users, folder, app):
    _import(users["controller"], folder)
    from docctl.services import search
    page = search.search(users["staff"], "BM-02-01")
    assert page.total >= 1


def test_existing_document_with_other_content_is_refused(users, folder):
    _import(users["controller"], folder)
    (folder / "QT-02.docx").write_bytes((folder / "QT-01.docx").read_bytes())
    plan = importing.dry_run(users["controller"], importsource.from_folder(str(folder)))
    row = next(r for r in plan.rows if r.code == "QT-02")
    assert row.action == "error" and "already used" in row.message
    assert db_count() == 7


def db_count() -> int:
    from docctl.extensions import db
    return db.session.scalar(select(func.count()).select_from(Document))


def test_list_rows_fixture_has_parents_before_children():
    rows = agency_rows()
    assert rows[1][1] == "QT-01" and rows[2][8] == "QT-01"


def test_imported_documents_read_like_any_other(users, folder, login_as):
    """Staff find an imported form and download its controlled copy; pages render."""
    _import(users["controller"], folder)
    staff = login_as("staff")
    assert staff.get("/documents/BM-01-01").status_code == 200
    page = staff.get("/documents/QT-01/revisions/1")
    assert page.status_code == 200
    # The list's approver is shown as text, apart from docctl's signatures (pages: Vietnamese).
    text = page.get_data(as_text=True)
    assert "Trần Thị Phó (trước khi dùng docctl), 20/01/2026" in text
    register = staff.get("/documents/QT-01").get_data(as_text=True)
    assert "Trần Thị Phó (trước khi dùng docctl)" in register
    assert "Nhập từ hệ thống hiện có" in register and "Ban hành lần đầu" not in register
    copy = staff.get("/documents/BM-01-01/revisions/1/download")
    assert copy.status_code == 200 and copy.data[:2] == b"PK"
    auditor = login_as("auditor")
    assert auditor.get("/documents/QT-01").status_code == 200
    assert auditor.get("/documents/QT-01/revisions/1").status_code == 200
    assert auditor.get("/audit/documents/QT-01/timeline").status_code == 200
    evidence = auditor.get("/audit/documents/QT-01/evidence")
    assert evidence.status_code == 200
    api = auditor.get("/api/v1/documents/QT-01/revisions/1")
    assert api.status_code == 200


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-8"])
def test_csv_master_list_gives_the_same_plan(users, tmp_path, encoding):
    from tests.fixtures.agency import list_csv
    rows = agency_rows()
    xlsx = importing.dry_run(users["controller"], importsource.from_folder(
        str(write_agency(tmp_path / "x", rows))))
    csv_folder = write_agency(tmp_path / "c", rows, list_name="danh_muc.csv",
                              list_bytes=list_csv(rows, encoding=encoding))
    csv = importing.dry_run(users["controller"], importsource.from_folder(str(csv_folder)))
    assert csv.ok, [r.as_json() for r in csv.rows]
    strip = [{k: v for k, v in r.as_json().items() if k != "row"} for r in xlsx.rows]
    assert [{k: v for k, v in r.as_json().items() if k != "row"} for r in csv.rows] == strip


def test_printed_metadata_disagreeing_is_a_warning_kept_with_the_revision(users, folder,
                                                                         monkeypatch):
    """What the file prints about itself (services.printed) is warned, not refused."""
    from docctl.services import printed

    seen = []

    def check(found, *, code, issue, amendment, effective_date=None):
        seen.append((code, issue, amendment, effective_date))
        return ["Tệp ghi Lần ban hành 01, sổ đăng ký ghi 03"] if code == "QT-01" else []

    monkeypatch.setattr(printed, "check", check)
    plan = importing.dry_run(users["controller"], importsource.from_folder(str(folder)))
    row = next(r for r in plan.rows if r.code == "QT-01")
    assert row.action == "import" and "sổ đăng ký ghi 03" in row.message
    assert ("QT-01", 3, 1, date(2026, 1, 26)) in seen
    _import(users["controller"], folder)
    revision = Document.query.filter_by(code_key="qt01").one().revisions[0]
    assert json.loads(revision.printed)["warnings"] == [
        "Tệp ghi Lần ban hành 01, sổ đăng ký ghi 03"]


def test_future_is_judged_by_the_agencys_clock_not_utcs(users, tmp_path, clock):
    """At 18:30 UTC on 07/12 it is already 08/12 in Hà Nội: a list dated 08/12 is not future."""
    from datetime import UTC, datetime
    clock.moment = datetime(2026, 12, 7, 18, 30, tzinfo=UTC)
    rows = agency_rows(procedures=2, forms_each=0)
    rows[1][7], rows[2][7] = "08/12/2026", "09/12/2026"   # QT-01: agency's today; QT-02: tomorrow
    folder = write_agency(tmp_path / "agency", rows)
    plan = importing.dry_run(users["controller"], importsource.from_folder(str(folder)))
    by_code = {r.as_json()["code"]: r.as_json() for r in plan.rows}
    assert by_code["QT-01"]["action"] == "import", by_code["QT-01"]
    assert by_code["QT-01"]["effective_date"] == "2026-12-08"
    assert by_code["QT-02"]["action"] == "error" and "future" in by_code["QT-02"]["message"]
