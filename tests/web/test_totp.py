"""Two-step sign-in: enrol, sign in with a code, wrong code, recovery codes, required roles."""

import logging
import re

import pyotp
from sqlalchemy import select

from docctl.models import AuditEvent, RecoveryCode
from docctl.services import twofactor
from tests.helpers import PASSWORD, csrf_token, login

SECRET = re.compile(r'<code class="secret">([A-Z2-7]+)</code>')
CODES = re.compile(r"<li><code>([a-z2-9]{5}-[a-z2-9]{5})</code></li>")


def _enrol(client, clock) -> tuple[str, list[str]]:
    """Set up two-step sign-in through the account page; return the secret and codes."""
    page = client.get("/account/two-step").get_data(as_text=True)
    secret = SECRET.search(page).group(1)
    assert "otpauth://totp/" in page and "<svg" in page
    answer = client.post("/account/two-step", data={
        "csrf_token": csrf_token(client), "action": "confirm",
        "code": pyotp.TOTP(secret).at(clock())})
    assert answer.status_code == 200
    return secret, CODES.findall(answer.get_data(as_text=True))


def _password_step(app, username: str):
    client = app.test_client()
    answer = client.post("/login", data={"username": username, "password": PASSWORD,
                                         "csrf_token": csrf_token(client)})
    assert answer.status_code == 302 and answer.headers["Location"].endswith("/login/code")
    return client


def _code_step(client, code: str):
    return client.post("/login/code", data={"code": code, "csrf_token": csrf_token(client)})


def test_enrol_then_sign_in_with_a_code_once(app, db, users, clock, login_as):
    staff = login_as("staff")
    wrong = staff.post("/account/two-step", data={
        "csrf_token": csrf_token(staff), "action": "confirm", "code": "000000"})
    assert wrong.status_code == 400 and not twofactor.is_enabled(users["staff"])
    secret, codes = _enrol(staff, clock)
    assert len(codes) == 10 and len(set(codes)) == 10
    stored = list(db.session.scalars(select(RecoveryCode).where(
        RecoveryCode.user_id == users["staff"].id)))
    assert len(stored) == 10 and all(r.code_hash.startswith("$argon2id$") for r in stored)

    client = _password_step(app, "staff")
    assert client.get("/account/password").status_code == 302      # not signed in yet
    assert _code_step(client, "123456" if pyotp.TOTP(secret).at(clock()) != "123456"
                      else "654321").status_code == 401
    # The code that confirmed the set-up was used: the same time step works only once.
    assert _code_step(client, pyotp.TOTP(secret).at(clock())).status_code == 401
    clock.advance(seconds=60)
    assert _code_step(client, pyotp.TOTP(secret).at(clock())).status_code == 302
    assert client.get("/account/password").status_code == 200


def test_recovery_code_works_once(app, users, clock, login_as):
    _secret, codes = _enrol(login_as("staff"), clock)
    first = _password_step(app, "staff")
    signed_in = _code_step(first, codes[0].upper().replace("-", " "))   # typed loosely
    assert signed_in.status_code == 302
    assert first.get("/account/password").status_code == 200
    again = _password_step(app, "staff")
    assert _code_step(again, codes[0]).status_code == 401
    assert _code_step(again, codes[1]).status_code == 302
    assert twofactor.remaining_codes(users["staff"]) == 8


def test_api_token_asks_for_the_code(app, users, clock, login_as):
    secret, _codes = _enrol(login_as("reviewer"), clock)
    api = app.test_client()
    body = {"username": "reviewer", "password": PASSWORD}
    missing = api.post("/api/v1/auth/token", json=body)
    assert missing.status_code == 403 and missing.json["field"] == "code"
    clock.advance(seconds=60)
    wrong = api.post("/api/v1/auth/token", json={**body, "code": "12345x"})
    assert wrong.status_code == 403
    good = api.post("/api/v1/auth/token", json={**body, "code": pyotp.TOTP(secret).at(clock())})
    assert good.status_code == 201 and good.json["token"]


def test_codes_are_throttled_with_passwords(app, users, clock, login_as):
    app.config["LOGIN_LIMIT_PAIR"] = "3 per 15 minutes"
    secret, _codes = _enrol(login_as("staff"), clock)
    client = _password_step(app, "staff")
    for _ in range(3):
        assert _code_step(client, "999999x").status_code == 401
    clock.advance(seconds=60)
    refused = _code_step(client, pyotp.TOTP(secret).at(clock()))
    assert refused.status_code == 429 and refused.headers["Retry-After"].isdigit()


def test_required_role_enrols_before_anything_else(app, users, clock):
    app.config["MFA_REQUIRED_ROLES"] = ("admin", "controller", "approver")
    approver = app.test_client()
    first = login(approver, "approver")
    assert first.headers["Location"].endswith("/account/two-step")
    for path in ("/", "/documents", "/search"):
        answer = approver.get(path)
        assert answer.status_code == 302 and answer.headers["Location"].endswith(
            "/account/two-step"), path
    assert approver.get("/api/v1/documents").json["error"] == "two_step_required"
    token = app.test_client().post("/api/v1/auth/token",
                                   json={"username": "approver", "password": PASSWORD})
    assert token.status_code == 403
    # Other roles are not asked.
    staff = app.test_client()
    assert login(staff, "staff").headers["Location"].endswith("/")
    _enrol(approver, clock)
    assert approver.get("/").status_code == 200
    off = approver.post("/account/two-step", data={"csrf_token": csrf_token(approver),
                                                  "action": "off", "password": PASSWORD})
    assert off.status_code == 409 and twofactor.is_enabled(users["approver"])


def test_admin_reset_and_secret_kept_out_of_logs_and_audit(app, db, users, clock, login_as,
                                                         caplog):
    caplog.set_level(logging.DEBUG)
    secret, codes = _enrol(login_as("controller"), clock)
    client = _password_step(app, "controller")
    _code_step(client, codes[0])
    from docctl.services import users as users_service
    users_service.unlock("controller", reset_two_step=True)
    assert not twofactor.is_enabled(users["controller"])
    assert db.session.scalar(select(RecoveryCode).where(
        RecoveryCode.user_id == users["controller"].id)) is None
    login(app.test_client(), "controller")                 # back to one step
    trail = " ".join(f"{e.action} {e.details}" for e in db.session.scalars(select(AuditEvent)))
    assert "totp_enabled" in trail and "recovery_code_used" in trail and "totp_disabled" in trail
    logged = "\n".join(f"{r.getMessage()} {r.args!r}" for r in caplog.records)
    for value in (secret, *codes):
        assert value not in trail and value.replace("-", "") not in trail
        assert value not in logged
