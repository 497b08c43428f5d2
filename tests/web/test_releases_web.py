"""Release pages: assemble with the form, errors kept on the page, sign, what staff then see."""

import re

from docctl.services.context import today
from tests.helpers import PASSWORD, csrf_token
from tests.services.test_releases import SIGNER, reviewed


def assemble(client, **changes):
    form = {"csrf_token": csrf_token(client), "decision_number": "4500/QĐ-UBND",
            "title": "Hệ thống quản lý chất lượng", "decision_date": today().isoformat(),
            "effective_date": today().isoformat(), "signer": SIGNER,
            "issue": ["QT-01:1", "QT-02:1"]}
    form.update(changes)
    return client.post("/releases/new", data=form)


def test_the_secretary_assembles_and_the_approver_signs_on_the_pages(app, users, login_as, db):
    reviewed(users, "QT-01")
    reviewed(users, "QT-02")
    secretary = login_as("controller")
    page = secretary.get("/releases/new").get_data(as_text=True)
    assert 'value="QT-01:1"' in page and 'value="QT-02:1"' in page
    # A bad number: 400, the message in Vietnamese, what was typed kept.
    refused = assemble(secretary, decision_number="4500-UBND",
                       headers={"Accept-Language": "vi"})
    text = refused.get_data(as_text=True)
    assert refused.status_code == 400 and "Nghị định 30/2020/NĐ-CP" in text
    assert 'value="4500-UBND"' in text and 'value="QT-01:1" checked' in text
    created = assemble(secretary)
    assert created.status_code == 302
    detail_url = created.headers["Location"]
    release_id = int(re.search(r"/releases/(\d+)", detail_url)[1])
    detail = secretary.get(detail_url).get_data(as_text=True)
    assert "data-confirm=" in detail            # discarding asks first
    assert 'name="password"' not in detail      # the secretary cannot sign it
    approver = login_as("approver")
    home = approver.get("/").get_data(as_text=True)
    assert f"/releases/{release_id}" in home and "4500/QĐ-UBND" in home
    signed = approver.post(f"/releases/{release_id}/approve",
                           data={"csrf_token": csrf_token(approver), "password": PASSWORD})
    assert signed.status_code == 302
    after = approver.get(detail_url).get_data(as_text=True)
    assert after.count("badge-effective") >= 3   # the decision and both documents in force
    staff = login_as("staff")
    register = staff.get("/documents?release=4500-QD-UBND").get_data(as_text=True)
    assert register.count('href="/documents/QT-0') >= 2 and "4500/QĐ-UBND" in register
    document = staff.get("/documents/QT-01").get_data(as_text=True)
    assert f'/releases/{release_id}"' in document
    assert staff.get(f"/releases/{release_id}").status_code == 200
    assert staff.post(f"/releases/{release_id}/approve",
                      data={"csrf_token": csrf_token(staff), "password": PASSWORD}
                      ).status_code == 403


def test_an_unsigned_decision_is_hidden_from_staff_and_forms_need_csrf(app, users, login_as):
    reviewed(users, "QT-01")
    secretary = login_as("controller")
    assert secretary.post("/releases/new", data={"decision_number": "1/QĐ-UBND"}
                          ).status_code == 400   # no CSRF token
    created = assemble(secretary, issue=["QT-01:1"])
    release_id = int(re.search(r"/releases/(\d+)", created.headers["Location"])[1])
    assert login_as("staff").get(f"/releases/{release_id}").status_code == 404
