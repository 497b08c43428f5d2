"""Records API: filing, lists, content, disposition lists and legal holds, with bad input."""

import io
from datetime import UTC, datetime

import pytest

from docctl.models_records import Record
from tests.helpers import PASSWORD, docx_bytes, make_user
from tests.services.test_records import MARK
from tests.services.test_records import world as world  # noqa: F401 (fixture)

VI = {"Accept-Language": "vi"}


def post_record(client, headers, *, data=None, name="bien-nhan.docx", **fields):
    form = {"form": "BM-05-a", "date": "2026-03-09", "reference": "0042/TN", **fields}
    form["file"] = (io.BytesIO(data or docx_bytes(MARK, "BM-05-a")), name)
    return client.post("/api/v1/records", data=form, headers=headers,
                       content_type="multipart/form-data")


def test_file_list_read_and_dispose_through_the_api(app, client, users, token, world, db):
    staff, secretary, approver = token("staff"), token("controller"), token("approver")
    created = post_record(client, staff)
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert body["sha256"] and body["retain_until"] == "2036-03-09" and body["number"] == \
        f"HS-2026-{body['id']:06d}" and body["form_revision"] == 1
    listed = client.get("/api/v1/records?form=bm.05.a", headers=staff).get_json()
    assert [r["id"] for r in listed["records"]] == [body["id"]] and listed["total"] == 1
    assert client.get("/api/v1/records?due=1", headers=staff).get_json()["total"] == 0
    content = client.get(f"/api/v1/records/{body['id']}/file", headers=staff)
    assert content.status_code == 200 and content.data == docx_bytes(MARK, "BM-05-a")
    # no way to change a filed record
    for method in ("put", "patch", "delete"):
        assert getattr(client, method)(f"/api/v1/records/{body['id']}",
                                       headers=staff).status_code == 405
    world.moment = datetime(2036, 3, 11, 3, 0, tzinfo=UTC)
    staff, secretary, approver = token("staff"), token("controller"), token("approver")
    due = client.get("/api/v1/records?due=1", headers=secretary).get_json()
    assert [r["id"] for r in due["records"]] == [body["id"]]
    proposed = client.post("/api/v1/dispositions", headers=secretary,
                           json={"records": [body["id"]], "reason": "Hết thời hạn lưu"})
    assert proposed.status_code == 201
    listing = proposed.get_json()
    own = client.post(f"/api/v1/dispositions/{listing['id']}/approve", headers=secretary,
                      json={"password": PASSWORD})
    assert own.status_code == 403        # a secretary is no approver, let alone of their list
    signed = client.post(f"/api/v1/dispositions/{listing['id']}/approve", headers=approver,
                         json={"password": PASSWORD})
    assert signed.status_code == 200 and signed.get_json()["status"] == "done"
    gone = client.get(f"/api/v1/records/{body['id']}/file", headers={**staff, **VI})
    assert gone.status_code == 410
    facts = gone.get_json()
    assert (facts["disposition"], facts["disposed_by"]) == (listing["number"], "approver")
    assert "hủy" in facts["message"]
    record = client.get(f"/api/v1/records/{body['id']}", headers=staff).get_json()
    assert record["status"] == "disposed" and record["sha256"] == body["sha256"]


def test_bad_input_gets_a_clear_answer_and_changes_nothing(app, client, users, token, world,
                                                           db):
    staff, secretary = token("staff"), token("controller")
    assert post_record(client, staff, colour="red").status_code == 400
    no_file = client.post("/api/v1/records", data={"form": "BM-05-a", "date": "2026-03-09"},
                          headers=staff, content_type="multipart/form-data")
    assert no_file.status_code == 400
    assert post_record(client, staff, date="09/03/2026").status_code == 400
    assert post_record(client, staff, data=b"\x00\x01 not a file", name="x.docx") \
        .status_code in (400, 415)
    assert post_record(client, token("auditor")).status_code == 403
    outsider = make_user("staff_qlkh", "staff")
    outsider.department_id = 2
    db.session.commit()
    refused = post_record(client, {**token("staff_qlkh"), **VI})
    assert refused.status_code == 403 and "Văn phòng" in refused.get_json()["message"]
    assert db.session.query(Record).count() == 0
    good = post_record(client, staff).get_json()
    early = client.post("/api/v1/dispositions", headers={**secretary, **VI},
                        json={"records": [good["id"]], "reason": "sớm"})
    assert early.status_code == 409
    assert client.post("/api/v1/dispositions", headers=secretary,
                       json={"records": [good["id"]]}).status_code == 400
    assert client.post("/api/v1/dispositions", headers=secretary,
                       json={"records": [999999], "reason": "x"}).status_code == 404
    assert client.post("/api/v1/dispositions", headers=staff,
                       json={"records": [good["id"]], "reason": "x"}).status_code == 403
    hold = client.post("/api/v1/legal-holds", headers=secretary,
                       json={"records": [good["id"]], "reason": "Thanh tra"})
    assert hold.status_code == 201 and hold.get_json()["active"] is True
    world.moment = datetime(2036, 3, 11, 3, 0, tzinfo=UTC)
    secretary = token("controller")   # tokens do not last ten years
    held = client.post("/api/v1/dispositions", headers={**secretary, **VI},
                       json={"records": [good["id"]], "reason": "Hết hạn"})
    assert held.status_code == 409 and good["number"] in held.get_json()["message"]
    released = client.post(f"/api/v1/legal-holds/{hold.get_json()['id']}/release",
                           headers=secretary, json={"reason": "Xong thanh tra"})
    assert released.status_code == 200 and released.get_json()["active"] is False
    assert client.post("/api/v1/dispositions", headers=secretary,
                       json={"records": [good["id"]], "reason": "Hết hạn"}).status_code == 201


@pytest.mark.parametrize("who,status", [("staff", 403), ("auditor", 200), ("controller", 200)])
def test_who_reads_disposition_lists_and_holds(client, users, token, who, status):
    assert client.get("/api/v1/dispositions", headers=token(who)).status_code == status
    assert client.get("/api/v1/legal-holds", headers=token(who)).status_code == status


def test_the_event_a_retention_counts_from_is_recorded_once(app, client, users, token, world,
                                                            db):
    from datetime import date

    from docctl.services import records
    record = records.file_generated(
        users["controller"], kind="report", title="Hồ sơ giải quyết khiếu nại",
        filename="kn.docx", data=docx_bytes("Khiếu nại", "BM-05-a"),
        record_date=date(2026, 3, 1), keeper_id=1,
        retention="05 năm kể từ khi kết thúc hồ sơ")
    assert record.retain_until is None                 # never due until the case is closed
    staff = token("staff")
    answer = client.get(f"/api/v1/records/{record.id}", headers=staff).get_json()
    assert (answer["retain_until"], answer["event_date"]) == (None, None)
    bad = client.post(f"/api/v1/records/{record.id}/event", headers=staff,
                      json={"date": "2026-02-01"})
    assert bad.status_code == 400                      # before the record's own date
    closed = client.post(f"/api/v1/records/{record.id}/event", headers=staff,
                         json={"date": "2026-03-05"})
    assert closed.status_code == 200
    assert (closed.get_json()["event_date"], closed.get_json()["retain_until"]) == \
        ("2026-03-05", "2031-03-05")
    again = client.post(f"/api/v1/records/{record.id}/event", headers=staff,
                        json={"date": "2026-03-06"})
    assert again.status_code == 409
    plain = post_record(client, staff).get_json()      # 10 năm from its own date
    assert client.post(f"/api/v1/records/{plain['id']}/event", headers=staff,
                       json={"date": "2026-03-09"}).status_code == 409
    assert client.post(f"/api/v1/records/{record.id}/event", headers=token("auditor"),
                       json={"date": "2026-03-09"}).status_code == 403
