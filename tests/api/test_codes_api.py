"""Any spelling of a code reaches the document in every path; revision JSON; `change`."""

import io
from urllib.parse import quote

import pytest

from tests.helpers import PASSWORD, docx_bytes

CODE = "PGL-TT21-BM02a"
SPELLINGS = ["PGL-TT21-BM02a", "pgl-tt21-bm02a", "PGLTT21BM02A", "pgl.tt21.bm02a",
             "pgl tt21 bm02a", "Pgl_Tt21_Bm02A"]


@pytest.fixture
def token(client, users):
    def get(username: str) -> dict:
        response = client.post("/api/v1/auth/token",
                               json={"username": username, "password": PASSWORD})
        assert response.status_code == 201, response.get_json()
        return {"Authorization": f"Bearer {response.get_json()['token']}",
                "Accept-Language": "vi"}
    return get


def upload(client, headers, code, **fields):
    return client.post(f"/api/v1/documents/{quote(code)}/revisions", headers=headers,
                       data={**{k: str(v) for k, v in fields.items()},
                             "file": (io.BytesIO(docx_bytes("nội dung", CODE)), "a.docx")},
                       content_type="multipart/form-data")


def publish(client, token, code, number):
    sec = token("controller")
    assert client.post(f"/api/v1/documents/{quote(code)}/revisions/{number}/submit",
                       headers=sec, json={"reviewers": ["reviewer"], "approver": "approver",
                                          "reason": "Sửa đổi"}).status_code == 200
    assert client.post(f"/api/v1/documents/{quote(code)}/revisions/{number}/review",
                       headers=token("reviewer"),
                       json={"decision": "accept"}).status_code == 200
    from docctl.services.context import today
    response = client.post(f"/api/v1/documents/{quote(code)}/revisions/{number}/approve",
                           headers=token("approver"),
                           json={"password": PASSWORD, "effective_date": today().isoformat()})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


@pytest.fixture
def registered(client, token):
    response = client.post("/api/v1/documents", headers=token("controller"), json={
        "type": "form", "title": "Phiếu theo dõi hiệu chuẩn", "department": "VP",
        "code": CODE})
    assert response.status_code == 201
    assert response.get_json()["code"] == CODE
    return response.get_json()


def test_every_spelling_reaches_the_document_in_every_path(client, token, registered):
    sec, auditor = token("controller"), token("auditor")
    first = upload(client, sec, "pgl tt21 bm02a", issue=3, amendment=1)
    assert first.status_code == 201, first.get_json()
    publish(client, token, "PGLTT21BM02A", 1)
    for spelling in SPELLINGS:
        path = f"/api/v1/documents/{quote(spelling)}"
        document = client.get(path, headers=sec)
        assert document.status_code == 200, spelling
        assert (document.get_json()["code"], document.get_json()["current_label"]) == \
            (CODE, "03.01")
        revisions = client.get(f"{path}/revisions", headers=sec).get_json()["revisions"]
        assert [r["document"] for r in revisions] == [CODE]
        assert client.get(f"{path}/revisions/1", headers=sec).status_code == 200
        assert client.get(f"{path}/revisions/1/file", headers=sec).status_code == 200
        timeline = client.get(f"{path}/timeline", headers=auditor)
        assert timeline.status_code == 200 and timeline.get_json()["document"] == CODE
        assert timeline.get_json()["revisions"] == [{"revision": 1, "label": "03.01"}]
        assert client.get(f"{path}?as_of=2099-01-01", headers=auditor).status_code == 200


def test_every_spelling_reaches_the_pages(client, token, registered, login_as):
    upload(client, token("controller"), CODE)
    secretary = login_as("controller")
    for spelling in SPELLINGS:
        page = secretary.get(f"/documents/{quote(spelling)}")
        assert page.status_code == 200, spelling
        assert CODE in page.get_data(as_text=True)
        assert secretary.get(f"/documents/{quote(spelling)}/revisions/1").status_code == 200
        assert secretary.get(f"/documents/{quote(spelling)}/upload").status_code == 200


def test_a_clash_in_another_spelling_is_409(client, token, registered):
    response = client.post("/api/v1/documents", headers=token("controller"), json={
        "type": "form", "title": "Khác", "department": "VP", "code": "pgl-tt21-bm02A"})
    assert response.status_code == 409
    assert CODE in response.get_json()["message"]


def test_revision_json_carries_numbers_label_and_printed(client, token, registered):
    body = upload(client, token("controller"), CODE).get_json()
    assert (body["issue"], body["amendment"], body["label"]) == (1, 0, "01")
    assert set(body["printed"]) == {"code", "issue", "amendment", "effective_date"}
    assert isinstance(body["warnings"], list)
    got = client.get(f"/api/v1/documents/{CODE}/revisions/1",
                     headers=token("controller")).get_json()
    assert {k: got[k] for k in ("issue", "amendment", "label", "printed", "warnings")} == \
        {k: body[k] for k in ("issue", "amendment", "label", "printed", "warnings")}


def test_a_later_revision_must_say_what_it_changes(client, token, registered):
    sec = token("controller")
    assert upload(client, sec, CODE).status_code == 201
    publish(client, token, CODE, 1)
    missing = upload(client, sec, CODE)
    assert missing.status_code == 422
    assert "sửa đổi hay ban hành lại" in missing.get_json()["message"]   # translated
    assert upload(client, sec, CODE, change="rewrite").status_code == 422
    assert upload(client, sec, CODE, change="amendment", issue=4).status_code == 422
    assert [r["revision"] for r in client.get(f"/api/v1/documents/{CODE}/revisions",
                                              headers=sec).get_json()["revisions"]] == [1]
    amended = upload(client, sec, CODE, change="amendment")
    assert amended.status_code == 201
    assert (amended.get_json()["revision"], amended.get_json()["label"]) == (2, "01.01")
    publish(client, token, CODE, 2)
    reissued = upload(client, sec, "pgltt21bm02a", change="reissue").get_json()
    assert (reissued["revision"], reissued["issue"], reissued["amendment"],
            reissued["label"]) == (3, 2, 0, "02")


def test_the_web_upload_offers_both_changes_with_their_labels(client, token, registered,
                                                               login_as):
    upload(client, token("controller"), CODE)
    publish(client, token, CODE, 1)
    secretary = login_as("controller")
    page = secretary.get(f"/documents/{CODE}/upload").get_data(as_text=True)
    assert 'type="radio" name="change" value="amendment"' in page
    assert 'type="radio" name="change" value="reissue"' in page
    assert "01.01" in page and "02" in page


def test_printed_warnings_are_answered_and_shown(client, token, registered, login_as,
                                                 monkeypatch):
    from docctl.office.printed import Printed
    from tests.helpers import csrf_token

    monkeypatch.setattr("docctl.services.documents.read_printed",
                        lambda media, data, text="": Printed(issue=3, amendment=1))
    monkeypatch.setattr("docctl.services.printed.check",
                        lambda printed, **kw: ["Tệp ghi Lần ban hành 03, sổ đăng ký ghi 01"])
    body = upload(client, token("controller"), CODE).get_json()
    # The file's own numbers start the document there; the warning comes back with it.
    assert (body["issue"], body["amendment"], body["printed"]["issue"]) == (3, 1, 3)
    assert body["warnings"] == ["Tệp ghi Lần ban hành 03, sổ đăng ký ghi 01"]
    secretary = login_as("controller")
    response = secretary.post(f"/documents/{CODE}/upload", data={
        "csrf_token": csrf_token(secretary), "reason": "",
        "file": (io.BytesIO(docx_bytes("bản mới", CODE)), "b.docx")},
        content_type="multipart/form-data", follow_redirects=True)
    assert response.status_code == 200
    assert "Tệp ghi Lần ban hành 03, sổ đăng ký ghi 01" in response.get_data(as_text=True)
    page = secretary.get(f"/documents/{CODE}/revisions/1").get_data(as_text=True)
    assert "Tệp ghi Lần ban hành 03, sổ đăng ký ghi 01" in page


def test_a_superseded_revision_names_its_successor_by_label(client, token, registered,
                                                            login_as):
    sec = token("controller")
    upload(client, sec, CODE, issue=3)
    publish(client, token, CODE, 1)
    upload(client, sec, CODE, change="amendment")
    publish(client, token, CODE, 2)
    page = login_as("auditor").get(f"/documents/{CODE}/revisions/1").get_data(as_text=True)
    assert "HẾT HIỆU LỰC" in page
    assert "03.01" in page and f"/documents/{CODE}/revisions/2" in page
