"""Codes kept as written and found in any spelling; issue/amendment numbers and labels."""

import json
import subprocess

import pytest

from docctl.errors import Conflict, ValidationError
from docctl.extensions import db
from docctl.models import AuditEvent
from docctl.office.printed import Printed
from docctl.services import copies, documents, organisation, publishing, reviews
from docctl.services.context import today
from tests.helpers import PASSWORD, docx_bytes, publish


def git(app, *args) -> str:
    return subprocess.run(["git", "-C", app.config["REPO_STORE"], *args], check=True,
                          capture_output=True, text=True).stdout


def register(users, code, *, doc_type="form", parent=None, title="Biểu mẫu"):
    data = {"type": doc_type, "title": title, "department": "VP", "code": code}
    if parent:
        data["parent"] = parent
    return documents.register_document(users["controller"], data)


def upload(users, code, **numbers):
    return documents.upload_revision(users["controller"], code, filename=f"{code}.docx",
                                     data=docx_bytes("nội dung", code), reason="Sửa đổi",
                                     **numbers)


def approve(users, code, number):
    reviews.submit(users["controller"], code, number, reviewers=["reviewer"],
                   approver="approver")
    reviews.review(users["reviewer"], code, number, decision="accept")
    return publishing.approve(users["approver"], code, number, password=PASSWORD,
                              effective_date=today())


def set_format(fmt: str) -> None:
    organisation.put(organisation.LABEL_FORMAT, fmt)
    db.session.commit()


def test_a_code_is_kept_as_written_and_found_in_every_spelling(users):
    document = register(users, "PGL-TT21-BM02a")
    assert (document.code, document.code_key) == ("PGL-TT21-BM02a", "pgltt21bm02a")
    publish(users, "PGL-TT21-BM02a")
    for spelling in ("PGL-TT21-BM02a", "pgl tt21 bm02a", "PGLTT21BM02A", "pgl.tt21.bm02a",
                     "Pgl_Tt21_Bm02A"):
        assert documents.get_document(users["staff"], spelling).code == "PGL-TT21-BM02a"
        assert documents.get_revision(users["staff"], spelling, 1).number == 1
    rows, _total = documents.list_register(users["staff"])
    assert [d.code for d, _rev in rows] == ["PGL-TT21-BM02a"]


def test_a_clash_in_any_spelling_is_409_naming_the_existing_code(users):
    register(users, "PGL-TT21-BM02a")
    with pytest.raises(Conflict) as refused:
        register(users, "pgl tt21 bm02A".replace(" ", "-"))
    assert refused.value.status == 409
    assert "PGL-TT21-BM02a" in str(refused.value)


def test_codes_whose_folders_collide_are_409_too(users):
    # Different keys (ß stays ß when folded), one folder name (ß upper-cases to SS).
    register(users, "ASS-1")
    with pytest.raises(Conflict):
        register(users, "Aß-1")


def test_a_vietnamese_code_keeps_its_letters(users):
    register(users, "QT-ĐT-03", doc_type="procedure")
    assert documents.get_document(users["controller"], "qt dt 03").code == "QT-ĐT-03"
    assert documents.get_document(users["controller"], "qt-đt-03").code == "QT-ĐT-03"


def test_proposals_follow_the_parent_as_registered(users):
    register(users, "QT.03", doc_type="procedure")
    register(users, "PGL-TT21", doc_type="procedure")
    assert documents.propose_code("form", "qt03") == "BM.03.01"
    form = documents.register_document(users["controller"], {
        "type": "form", "title": "Phiếu", "department": "VP", "parent": "qt 03"})
    assert (form.code, form.parent.code) == ("BM.03.01", "QT.03")
    assert documents.propose_code("form", "qt.03") == "BM.03.02"
    assert documents.propose_code("form", "pgl tt21") == "PGL-TT21-BM01"


def test_proposals_use_the_organisations_patterns(users):
    organisation.put(organisation.CODE_PATTERNS, json.dumps({"procedure": "QTr"}))
    db.session.commit()
    assert documents.propose_code("procedure") == "QTr-01"
    document = documents.register_document(users["controller"], {
        "type": "procedure", "title": "Quy trình", "department": "VP"})
    assert document.code == "QTr-01"
    assert documents.propose_code("procedure") == "QTr-02"


def test_amendment_and_new_issue_numbering(app, users):
    register(users, "QT-01", doc_type="procedure")
    first = upload(users, "QT-01")
    assert (first.issue, first.amendment) == (1, 0)
    approve(users, "QT-01", 1)
    with pytest.raises(ValidationError) as missing:
        upload(users, "QT-01")
    assert missing.value.status == 422 and missing.value.details["field"] == "change"
    with pytest.raises(ValidationError) as unknown:
        upload(users, "QT-01", change="rewrite")
    assert unknown.value.status == 422
    with pytest.raises(ValidationError):   # explicit numbers only for the first revision
        upload(users, "QT-01", change="amendment", issue=5)
    assert len(documents.get_document(users["controller"], "QT-01").revisions) == 1
    amended = upload(users, "QT-01", change="amendment")
    assert (amended.number, amended.issue, amended.amendment) == (2, 1, 1)
    # New content for the same draft keeps its numbers unless a change is chosen again.
    again = upload(users, "QT-01")
    assert (again.number, again.issue, again.amendment) == (2, 1, 1)
    approve(users, "QT-01", 2)
    reissued = upload(users, "QT-01", change="reissue")
    assert (reissued.number, reissued.issue, reissued.amendment) == (3, 2, 0)
    event = db.session.query(AuditEvent).filter_by(action="draft_uploaded",
                                                   revision_number=3).one()
    details = json.loads(event.details)
    assert (details["issue"], details["amendment"], details["change"]) == (2, 0, "reissue")


def test_a_document_starts_at_its_real_numbers(users):
    register(users, "QT-01", doc_type="procedure")
    with pytest.raises(ValidationError) as refused:
        upload(users, "QT-01", issue="0")
    assert refused.value.status == 422
    with pytest.raises(ValidationError):
        upload(users, "QT-01", issue="3", amendment="abc")
    revision = upload(users, "QT-01", issue="3", amendment="1")
    assert (revision.issue, revision.amendment) == (3, 1)
    assert documents.label(revision) == "03.01"


@pytest.mark.parametrize(("fmt", "label"), [
    ("plain", "03.01"), ("dot", "03.01"), ("slash", "03/01"), ("sd", "03sđ01"),
    ("long", "Lần ban hành: 03 - Lần sửa đổi: 01")])
def test_labels_in_each_format(app, users, fmt, label):
    set_format(fmt)
    register(users, "QT-01", doc_type="procedure")
    revision = upload(users, "QT-01", issue=3, amendment=1)
    assert documents.label(revision) == label
    approve(users, "QT-01", 1)
    revision = documents.get_revision(users["auditor"], "QT-01", 1)
    message = git(app, "log", "-1", "--format=%B", revision.commit_sha)
    assert f"Revision-Label: {label}" in message
    assert "Issue: 3" in message and "Amendment: 1" in message
    stored = json.loads(git(app, "show", f"{revision.commit_sha}:documents/QT/QT-01/"
                                         "revision.json"))
    assert (stored["issue"], stored["amendment"], stored["label"]) == (3, 1, label)
    info = copies.stamp_info(users["staff"], revision, "controlled")
    assert info.label == label and [h.label for h in info.history] == [label]


def test_trailers_keep_the_sequence_and_add_the_label(app, users):
    register(users, "BM.01.02")
    publish(users, "BM.01.02")
    publish(users, "bm 01 02", change="amendment", reason="Sửa đổi")
    revision = documents.get_revision(users["auditor"], "BM.01.02", 2)
    message = git(app, "log", "-1", "--format=%B", revision.commit_sha)
    for trailer in ("Docctl-Document: BM.01.02", "Docctl-Revision: 2", "Revision-Label: 01.01",
                    "Issue: 1", "Amendment: 1", "Supersedes: 1"):
        assert trailer in message
    # The tag keeps its sequence-number form, named from the folder slug as before.
    assert revision.tag == "BM.01.02/r2"
    assert git(app, "rev-parse", "BM.01.02/r2^{commit}").strip() == revision.commit_sha


def test_the_stamp_names_the_organisation(users):
    organisation.put(organisation.NAME, "Sở Khoa học và Công nghệ tỉnh X")
    db.session.commit()
    register(users, "QT-01", doc_type="procedure")
    publish(users, "QT-01")
    revision = documents.get_revision(users["staff"], "QT-01", 1)
    info = copies.stamp_info(users["staff"], revision, "controlled")
    assert info.organisation == "Sở Khoa học và Công nghệ tỉnh X"
    assert info.label == "01"


def test_printed_numbers_prefill_the_first_revision_and_warnings_stay(users, monkeypatch):
    seen = {}

    def check(printed, *, code, issue, amendment, effective_date=None):
        seen.setdefault("calls", []).append((code, issue, amendment, effective_date))
        return [f"Tệp ghi mã {printed.code}, sổ đăng ký ghi {code}"]

    monkeypatch.setattr("docctl.services.documents.read_printed",
                        lambda media, data, text="": Printed(code="QT-99", issue=3, amendment=1))
    monkeypatch.setattr("docctl.services.printed.check", check)
    register(users, "QT-01", doc_type="procedure")
    revision = upload(users, "QT-01")
    assert (revision.issue, revision.amendment) == (3, 1)
    stored = json.loads(revision.printed)
    assert (stored["code"], stored["issue"], stored["amendment"]) == ("QT-99", 3, 1)
    assert stored["warnings"] == ["Tệp ghi mã QT-99, sổ đăng ký ghi QT-01"]
    event = db.session.query(AuditEvent).filter_by(action="draft_uploaded").one()
    assert json.loads(event.details)["warnings"] == stored["warnings"]
    # Explicit numbers win over the printed ones.
    register(users, "QT-02", doc_type="procedure")
    assert (upload(users, "QT-02", issue=1).issue, seen["calls"][-1][1]) == (1, 1)
    # Approving checks the chosen effective date against the file once more.
    approve(users, "QT-01", 1)
    assert seen["calls"][-1] == ("QT-01", 3, 1, today())


def test_the_evidence_package_and_timeline_carry_the_label(users):
    import zipfile

    from docctl.services import evidence, timeline

    set_format("sd")
    register(users, "qt.05", doc_type="procedure")
    upload(users, "QT05", issue=2, amendment=3)
    approve(users, "qt 05", 1)
    package = evidence.document_package(users["auditor"], "QT-05")
    with zipfile.ZipFile(package.file) as archive:
        manifest = json.loads(archive.read("manifest.json"))
    (document,) = manifest["documents"]
    assert document["code"] == "qt.05"
    (revision,) = document["revisions"]
    assert (revision["issue"], revision["amendment"], revision["label"]) == (2, 3, "02sđ03")
    story = timeline.read_timeline(users["auditor"], "QT 05")
    assert story.document.code == "qt.05" and story.labels == {1: "02sđ03"}


def test_the_audit_log_filter_takes_any_spelling(users):
    from docctl.services import auditlog

    register(users, "PGL-TT21-BM02a")
    upload(users, "PGL-TT21-BM02a")
    for spelling in ("pgl tt21 bm02a", "PGLTT21BM02A", "PGL-TT21-BM02a"):
        filters = auditlog.parse_filters({"document": spelling})
        actions = {row.action for row in auditlog.iter_entries(filters)}
        assert {"document_registered", "draft_uploaded"} <= actions, spelling
