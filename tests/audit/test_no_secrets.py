"""R45: no password, API token, CSRF token or session cookie in the logs or the database."""

import io
import logging

from sqlalchemy import String, Text, select

from docctl.services.context import store, today
from tests.helpers import PASSWORD, csrf_token, docx_bytes, login

WRONG_PASSWORD = "wrong-but-secret-passphrase-41"
NEW_PASSWORD = "a brand new secret passphrase 42"


def test_secrets_never_reach_logs_or_tables(users, procedure, app, db, caplog):
    caplog.set_level(logging.DEBUG)   # every logger, every level
    # SQLAlchemy logs nothing unless asked: have it log every statement, parameter and row.
    db.engine.echo = "debug"
    secrets = {"test password": PASSWORD, "wrong password": WRONG_PASSWORD,
               "new password": NEW_PASSWORD}

    secretary = app.test_client()
    login(secretary, "controller")
    secrets["CSRF token"] = token = csrf_token(secretary)
    secrets["session cookie"] = secretary.get_cookie("docctl").value
    secretary.post("/documents/QT-01/upload", data={"change": "reissue",
        "csrf_token": token, "reason": "Sửa đổi",
        "file": (io.BytesIO(docx_bytes("bản hai")), "QT-01.docx")},
        content_type="multipart/form-data")
    secretary.post("/documents/QT-01/revisions/2/submit", data={
        "csrf_token": token, "reviewers": ["reviewer"], "approver": "approver"})

    failed = app.test_client()
    failed.post("/login", data={"username": "approver", "password": WRONG_PASSWORD,
                                "csrf_token": csrf_token(failed)})

    api = app.test_client()
    raw = api.post("/api/v1/auth/token", json={"username": "reviewer",
                                               "password": PASSWORD}).get_json()["token"]
    secrets["API token"] = raw
    headers = {"Authorization": f"Bearer {raw}"}
    api.post("/api/v1/documents/QT-01/revisions/2/review",
             json={"decision": "accept", "comment": "ok"}, headers=headers)

    approver = app.test_client()
    login(approver, "approver")
    approver.post("/documents/QT-01/revisions/2/approve", data={
        "csrf_token": csrf_token(approver), "decision": "approve", "password": WRONG_PASSWORD,
        "effective_date": today().strftime("%d/%m/%Y")})                  # refused signature
    approver.post("/documents/QT-01/revisions/2/approve", data={
        "csrf_token": csrf_token(approver), "decision": "approve", "password": PASSWORD,
        "effective_date": today().strftime("%d/%m/%Y")})
    assert api.delete("/api/v1/auth/token", headers=headers).status_code == 204

    staff = app.test_client()
    login(staff, "staff")
    staff.post("/account/password", data={"csrf_token": csrf_token(staff),
                                          "current": PASSWORD, "new": NEW_PASSWORD})
    auditor = app.test_client()
    login(auditor, "auditor")
    auditor.post("/audit/verify", data={"csrf_token": csrf_token(auditor)})
    auditor.get("/audit/export?format=csv")

    db.engine.echo = False
    logged = "\n".join(f"{r.name} {r.getMessage()} {r.args!r} {r.exc_text or ''}"
                       for r in caplog.records)
    assert len(caplog.records) > 500   # the capture saw the app and its SQL at work
    assert "password_hash" in logged and "$argon2id$" in logged
    texts = []
    for table in db.metadata.sorted_tables:
        columns = [c for c in table.columns if isinstance(c.type, String | Text)]
        for row in db.session.execute(select(*columns)) if columns else []:
            texts += [str(value) for value in row if value is not None]
    history = "\n".join(info.message for info in store().history())
    everything = {"log": logged, "database": "\n".join(texts), "git": history}
    assert "approved" in everything["database"] and "Docctl-Intent" in history
    leaks = [(what, where) for what, secret in secrets.items()
             for where, haystack in everything.items() if secret in haystack]
    assert leaks == []
