"""Sets issued by one decision: the seed scenario (4500/QĐ-UBND, then 3494/QĐ-UBND), bad input."""

import io
import json
import subprocess
from datetime import UTC, date, datetime, timedelta

import docx
import pytest

from docctl.errors import Conflict, DocctlError, Forbidden, SignatureError, ValidationError
from docctl.models import Release, ReleaseItem, Revision
from docctl.services import (
    asof,
    documents,
    forms,
    indexing,
    publishing,
    releases,
    reviews,
    search,
    verify,
)
from tests.helpers import PASSWORD, docx_bytes

TITLE = "Hệ thống quản lý chất lượng theo TCVN ISO 9001:2015"
SIGNER = "KT. CHỦ TỊCH\nPHÓ CHỦ TỊCH\nNguyễn Văn An"


def git(app, *args) -> str:
    return subprocess.run(["git", "-C", app.config["REPO_STORE"], *args], capture_output=True,
                          text=True, check=True).stdout.strip()


def commits(app) -> int:
    return int(git(app, "rev-list", "--count", "HEAD"))


def reviewed(users, code: str, *, doc_type="procedure", title=None, parent=None,
             word=None) -> int:
    """Register the document if new, upload a revision and take it through review."""
    if documents.find_by_code(code) is None:
        data = {"type": doc_type, "title": title or f"Quy trình {code}", "department": "VP",
                "code": code}
        if parent:
            data["parent"] = parent
        documents.register_document(users["controller"], data)
    rev = documents.upload_revision(users["controller"], code, filename=f"{code}.docx",
                                    data=docx_bytes(word or f"nội dung {code}", code),
                                    change="reissue", reason="Cập nhật căn cứ pháp lý")
    reviews.submit(users["controller"], code, rev.number, reviewers=["reviewer"],
                   approver="approver")
    reviews.review(users["reviewer"], code, rev.number, decision="accept", comment="ok")
    return rev.number


def issue(users, number: str, items, *, effective=None, replaces=None) -> Release:
    today = publishing.today()
    release = releases.create(users["controller"], title=TITLE, decision_number=number,
                              decision_date=today, signer=SIGNER,
                              effective_date=effective or today, items=items,
                              replaces=replaces)
    return releases.approve(users["approver"], release.id, password=PASSWORD)


def codes_in_force(user, day) -> dict[str, int]:
    rows, _total = asof.register_as_of(user, day, per_page=500)
    return {d.code: r.number for d, r in rows}


@pytest.fixture
def first_set(app, users):
    """Ten procedures, three with a form each, reviewed and waiting for one decision."""
    items = []
    for n in range(1, 11):
        code = f"QT-{n:02d}"
        items.append({"code": code, "revision": reviewed(users, code, word=f"từkhoá{n:02d}")})
    for n in range(1, 4):
        code = f"BM-{n:02d}-01"
        items.append({"code": code, "revision": reviewed(
            users, code, doc_type="form", title=f"Mẫu phiếu {n}", parent=f"QT-{n:02d}")})
    return items


def test_seed_scenario_two_decisions(app, users, first_set, clock, db):
    staff, auditor = users["staff"], users["auditor"]
    before, day_a = commits(app), publishing.today()
    first = issue(users, "4500/QĐ-UBND", first_set)
    indexing.catch_up()
    # git: one commit, one tag naming it; every revision points at it.
    assert commits(app) == before + 1
    sha_a = git(app, "rev-parse", "HEAD")
    assert git(app, "rev-parse", "release/4500-QD-UBND^{commit}") == sha_a == first.commit_sha
    assert "Decision-Number: 4500/QĐ-UBND" in git(app, "log", "-1", "--format=%B")
    assert first.status == "effective"
    issued = db.session.query(Revision).join(ReleaseItem,
                                             ReleaseItem.revision_id == Revision.id).all()
    assert len(issued) == 13
    assert {r.status for r in issued} == {"effective"} and {r.commit_sha for r in issued} == {
        sha_a}
    assert all([s.meaning for s in r.signatures].count("issued_by_decision") == 1
               for r in issued)
    files = git(app, "show", "--name-only", "--format=", sha_a).splitlines()
    assert "releases/4500-QD-UBND/decision.docx" in files
    assert "releases/4500-QD-UBND/release.json" in files
    assert sum(f.endswith("/revision.json") for f in files) == 13
    facts = json.loads(git(app, "show", f"{sha_a}:documents/QT/QT-01/revision.json"))
    assert [f["code"] for f in facts["forms"]] == ["BM-01-01"]   # its forms, kept in git
    assert facts["release"] == "4500/QĐ-UBND"
    assert releases.in_force_on(day_a).id == first.id

    # A month later: 3494/QĐ-UBND revises six, abolishes two, adds one, effective in 5 days.
    clock.advance(days=30)
    items = [{"code": f"QT-{n:02d}", "revision": reviewed(users, f"QT-{n:02d}")}
             for n in range(1, 7)]
    items += [{"code": "QT-09", "action": "abolish"}, {"code": "QT-10", "action": "abolish"},
              {"code": "QT-11", "revision": reviewed(users, "QT-11")}]
    effective_b = publishing.today() + timedelta(days=5)
    before = commits(app)
    second = issue(users, "3494/QĐ-UBND", items, effective=effective_b,
                   replaces="4500/QĐ-UBND")
    assert second.status == "approved" and commits(app) == before + 1
    assert git(app, "rev-parse", "release/3494-QD-UBND^{commit}") == second.commit_sha
    # Signed but not in force: the first set still is, and staff still find QT-09.
    assert documents.get_revision(auditor, "QT-01", 2).status == "approved"
    assert documents.get_document(staff, "QT-09").status == "effective"
    assert publishing.take_effect_due() == 0
    clock.advance(days=5)
    assert publishing.take_effect_due() == 1
    indexing.catch_up()
    assert commits(app) == before + 2
    db.session.expire_all()
    second, first = db.session.get(Release, second.id), db.session.get(Release, first.id)
    assert second.status == "effective" and first.status == "replaced"
    assert releases.replaced_by(first).id == second.id and second.replaces.id == first.id
    # Database: six revised, two abolished, one added, the rest unchanged.
    now_in_force = codes_in_force(auditor, publishing.today())
    assert {c: now_in_force[c] for c in ("QT-01", "QT-06", "QT-07", "QT-11")} == {
        "QT-01": 2, "QT-06": 2, "QT-07": 1, "QT-11": 1}
    assert "QT-09" not in now_in_force and "QT-10" not in now_in_force
    assert documents.get_document(auditor, "QT-09").status == "obsolete"
    assert documents.get_revision(auditor, "QT-01", 1).status == "superseded"
    # Search: staff never find an abolished procedure (its words are unique to it).
    assert search.search(staff, "từkhoá09").total == 0
    assert search.search(staff, "từkhoá08").total == 1
    # As of a day under each decision: its set, and the decision in force.
    assert codes_in_force(auditor, day_a) == {**{f"QT-{n:02d}": 1 for n in range(1, 11)},
                                              **{f"BM-{n:02d}-01": 1 for n in range(1, 4)}}
    assert releases.in_force_on(day_a).id == first.id
    # A page's forms looked up at once agree with each procedure's own answer, on both days.
    for day in (day_a, publishing.today()):
        rows, _total = asof.register_as_of(auditor, day, per_page=500)
        many = forms.in_force_with_many(rows, day)
        assert many == {d.id: forms.in_force_with(d, day) for d, _r in rows
                        if d.doc_type in forms.OWNER_TYPES}
        assert [f.code for f, _r in many[documents.find_by_code("QT-01").id]] == ["BM-01-01"]
    assert releases.in_force_on(effective_b - timedelta(days=1)).id == first.id
    assert releases.in_force_on(effective_b).id == second.id
    # The document's page: the decision that issued each revision.
    qt01 = documents.get_document(auditor, "QT-01")
    by = releases.issued_by([r.id for r in qt01.revisions])
    assert {r.number: by[r.id].decision_number for r in qt01.revisions} == {
        1: "4500/QĐ-UBND", 2: "3494/QĐ-UBND"}
    assert verify.run() == []


def test_the_generated_decision_is_in_decree_30_layout(app, users, first_set):
    release = releases.create(users["controller"], title=TITLE,
                              decision_number="4500/qd-ubnd",
                              decision_date=publishing.today(), signer=SIGNER,
                              effective_date=publishing.today(), items=first_set[:3])
    assert release.decision_number == "4500/QĐ-UBND" and release.slug == "4500-QD-UBND"
    data, _r = releases.decision_bytes(users["controller"], release.id)
    text = docx.Document(io.BytesIO(data))
    paragraphs = "\n".join(p.text for p in text.paragraphs)
    cells = "\n".join(c.text for t in text.tables for row in t.rows for c in row.cells)
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in cells
    assert "Độc lập - Tự do - Hạnh phúc" in cells and "Số: 4500/QĐ-UBND" in cells
    assert "QUYẾT ĐỊNH" in paragraphs and f"Về việc ban hành {TITLE}" in paragraphs
    assert "QT-02" in cells and "Ban hành mới" in cells
    signed = releases.approve(users["approver"], release.id, password=PASSWORD)
    kept, _r = releases.decision_bytes(users["staff"], signed.id)
    assert kept == data   # the decision as signed is the one git keeps


def test_a_scan_is_kept_beside_the_generated_decision(app, users, first_set):
    release = issue(users, "12/2024/QĐ-UBND", first_set[:2])
    before = commits(app)
    pdf = b"%PDF-1.4\n% scanned\n" + b"0" * 100
    scan = releases.add_scan(users["controller"], release.id, filename="qd-12.pdf", data=pdf)
    assert scan.commit_sha == git(app, "rev-parse", "HEAD") and commits(app) == before + 1
    assert git(app, "show", "HEAD:releases/12-2024-QD-UBND/signed-scan.pdf") == pdf.decode()
    with pytest.raises(DocctlError) as refused:
        releases.add_scan(users["controller"], release.id, filename="x.docx",
                          data=docx_bytes())
    assert refused.value.status in (409, 415)


@pytest.mark.parametrize("number", ["3494/QĐ", "125/UBND-VP", "QĐ-UBND", "3494/TB-UBND", ""])
def test_a_decision_number_not_in_decree_30_form_is_refused(app, users, number):
    items = [{"code": "QT-01", "revision": reviewed(users, "QT-01")}]
    with pytest.raises(ValidationError) as refused:
        releases.create(users["controller"], title=TITLE, decision_number=number,
                        decision_date=publishing.today(), signer=SIGNER,
                        effective_date=publishing.today(), items=items)
    assert refused.value.details.get("field") == "decision_number"
    assert releases.list_releases(users["controller"]) == []


def _refused(users, items, **fields):
    values = dict(title=TITLE, decision_number="4500/QĐ-UBND",
                  decision_date=publishing.today(), signer=SIGNER,
                  effective_date=publishing.today(), items=items)
    values.update(fields)
    before = len(releases.list_releases(users["controller"]))
    with pytest.raises(DocctlError) as refused:
        releases.create(users["controller"], **values)
    assert len(releases.list_releases(users["controller"])) == before   # nothing was kept
    return refused.value


def test_bad_releases_are_refused_and_nothing_changes(app, users, first_set):
    assert _refused(users, first_set[:1] * 2).status == 400            # the same document twice
    documents.register_document(users["controller"], {"type": "procedure", "title": "Nháp",
                                                      "department": "VP", "code": "QT-20"})
    documents.upload_revision(users["controller"], "QT-20", filename="a.docx",
                              data=docx_bytes(), change="reissue")
    not_reviewed = _refused(users, [{"code": "QT-20", "revision": 1}])
    assert not_reviewed.status == 409 and "QT-20" in str(not_reviewed)
    past = _refused(users, first_set[:1],
                    effective_date=publishing.today() - timedelta(days=1),
                    decision_date=publishing.today() - timedelta(days=2))
    assert past.status == 400
    assert _refused(users, [{"code": "QT-01", "action": "abolish"}]).status == 409  # not in force
    assert _refused(users, [{"code": "NOPE-1", "revision": 1}]).status == 400
    assert _refused(users, []).status == 400
    assert _refused(users, first_set[:1], signer="  ").status == 400


def test_abolishing_a_procedure_whose_forms_stay_in_force_is_refused(app, users, first_set):
    issue(users, "4500/QĐ-UBND", first_set)
    refused = _refused(users, [{"code": "QT-01", "action": "abolish"}],
                       decision_number="4501/QĐ-UBND")
    assert refused.status == 409 and "BM-01-01" in str(refused)
    # Saying what becomes of the form makes it acceptable.
    release = releases.create(users["controller"], title=TITLE,
                              decision_number="4501/QĐ-UBND",
                              decision_date=publishing.today(), signer=SIGNER,
                              effective_date=publishing.today(),
                              items=[{"code": "QT-01", "action": "abolish"},
                                     {"code": "BM-01-01", "action": "abolish"}])
    releases.approve(users["approver"], release.id, password=PASSWORD)
    assert documents.find_by_code("BM-01-01").status == "obsolete"
    assert forms.in_force_with(documents.find_by_code("QT-02")) != []


def test_who_may_sign_and_what_a_wrong_password_does(app, users, first_set, db):
    release = releases.create(users["controller"], title=TITLE, decision_number="4500/QĐ-UBND",
                              decision_date=publishing.today(), signer=SIGNER,
                              effective_date=publishing.today(), items=first_set[:2])
    with pytest.raises(Forbidden):
        releases.approve(users["staff"], release.id, password=PASSWORD)
    with pytest.raises(SignatureError):
        releases.approve(users["approver"], release.id, password="wrong")
    assert db.session.get(Release, release.id).status == "draft"
    # A revision in a release is not approved on its own.
    with pytest.raises(Conflict):
        publishing.approve(users["approver"], "QT-01", 1, password=PASSWORD,
                           effective_date=publishing.today())
    # Nor put in a second release.
    again = _refused_any(users, first_set[:1])
    assert again.status == 409
    releases.approve(users["approver"], release.id, password=PASSWORD)
    with pytest.raises(Conflict):
        releases.approve(users["approver"], release.id, password=PASSWORD)


def _refused_any(users, items):
    with pytest.raises(DocctlError) as refused:
        releases.create(users["controller"], title=TITLE, decision_number="9/QĐ-UBND",
                        decision_date=publishing.today(), signer=SIGNER,
                        effective_date=publishing.today(), items=items)
    return refused.value


def test_a_draft_release_can_be_discarded_and_its_revisions_approved_alone(app, users,
                                                                          first_set, clock):
    release = releases.create(users["controller"], title=TITLE, decision_number="4500/QĐ-UBND",
                              decision_date=publishing.today(), signer=SIGNER,
                              effective_date=publishing.today(), items=first_set[:1])
    with pytest.raises(ValidationError):
        releases.discard(users["controller"], release.id, reason="")
    releases.discard(users["controller"], release.id, reason="Thiếu biểu mẫu")
    # The number is free again: the same decision, assembled again, then given up again.
    again = releases.create(users["controller"], title=TITLE, decision_number="4500/QĐ-UBND",
                            decision_date=publishing.today(), signer=SIGNER,
                            effective_date=publishing.today(), items=first_set[:1])
    releases.discard(users["controller"], again.id, reason="Để phê duyệt riêng")
    # Approved alone for a later day, it takes effect on that day like any other revision.
    publishing.approve(users["approver"], "QT-01", 1, password=PASSWORD,
                       effective_date=publishing.today() + timedelta(days=2))
    clock.advance(days=2)
    assert publishing.take_effect_due() == 1
    assert documents.find_by_code("QT-01").status == "effective"
    assert releases.list_releases(users["staff"]) == []   # staff never see drafts


def test_the_register_as_of_a_day_is_exported_with_its_decisions(app, users, first_set,
                                                                  login_as, clock):
    import csv
    day = publishing.today()
    issue(users, "4500/QĐ-UBND", first_set)
    clock.advance(days=2)
    issue(users, "3494/QĐ-UBND", [{"code": "QT-02", "revision": reviewed(users, "QT-02")},
                                  {"code": "QT-10", "action": "abolish"}])
    rows = asof.snapshot(users["auditor"], day)
    assert [(r.code, r.number, r.decision) for r in rows][:3] == [
        ("QT-01", 1, "4500/QĐ-UBND"), ("QT-02", 1, "4500/QĐ-UBND"), ("QT-03", 1, "4500/QĐ-UBND")]
    now = {r.code: (r.number, r.decision) for r in asof.snapshot(users["auditor"],
                                                                 publishing.today())}
    assert now["QT-02"] == (2, "3494/QĐ-UBND") and "QT-10" not in now
    assert now == {d.code: (r.number, now[d.code][1]) for d, r in asof.register_as_of(
        users["auditor"], publishing.today(), per_page=500)[0]}
    auditor = login_as("auditor")
    answer = auditor.get(f"/documents/export?as_of={day.isoformat()}&format=csv")
    assert answer.status_code == 200 and answer.mimetype == "text/csv"
    lines = list(csv.reader(io.StringIO(answer.data.decode("utf-8-sig"))))
    assert len(lines) == 1 + 13 and lines[1][1] == "QT-01" and lines[1][-1] == "4500/QĐ-UBND"
    assert login_as("staff").get(f"/documents/export?as_of={day.isoformat()}"
                                 ).status_code == 403
    assert auditor.get("/documents/export?format=csv").status_code == 400


def test_the_agencys_day_decides_what_takes_effect_not_utcs(app, users, clock):
    """At 18:00 UTC on 7 Dec it is already 8 Dec in Hà Nội: a decision in force from the 8th
    takes effect when signed, and the 7th is already in the past."""
    clock.moment = datetime(2026, 12, 7, 18, 0, tzinfo=UTC)
    assert publishing.today() == date(2026, 12, 8)
    items = [{"code": "QT-01", "revision": reviewed(users, "QT-01")}]
    with pytest.raises(ValidationError):
        releases.create(users["controller"], title=TITLE, decision_number="7/QĐ-UBND",
                        decision_date=date(2026, 12, 7), signer=SIGNER,
                        effective_date=date(2026, 12, 7), items=items)
    release = releases.create(users["controller"], title=TITLE, decision_number="8/QĐ-UBND",
                              decision_date=date(2026, 12, 8), signer=SIGNER,
                              effective_date=date(2026, 12, 8), items=items)
    signed = releases.approve(users["approver"], release.id, password=PASSWORD)
    assert signed.status == "effective"
    assert documents.get_revision(users["auditor"], "QT-01", 1).effective_date == date(2026, 12, 8)
