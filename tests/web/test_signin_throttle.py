"""Sign-in throttling: addresses × accounts × endpoints × workers, database and Redis (R37)."""

import http.client
import json
import logging
import os
import re
import socket
import subprocess
import sys
import time
import uuid
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

import pytest
from sqlalchemy import func, select

from bench.server import free_port
from docctl.models import AuditEvent, LoginCounter
from docctl.services import throttle
from docctl.services import users as users_service
from tests.helpers import PASSWORD, csrf_token

ROOT = Path(__file__).resolve().parent.parent.parent
DOCCTL = [sys.executable, "-c", "from docctl.cli import main; main()"]


def _redis_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.5):
            return True
    except OSError:
        return False


def _drop_redis_keys(prefix: str) -> None:
    """Remove a test run's counters (the "known address" ones would live 90 days)."""
    import redis
    client = redis.Redis.from_url("redis://127.0.0.1:6379/0")
    for name in client.scan_iter(match=f"{prefix}-login:*", count=500):
        client.delete(name)


# ---- in process: every database, the test client with chosen socket addresses -------------

def _client(app, addr: str):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = addr
    return client


def _web(client, username: str, password: str):
    return client.post("/login", data={"username": username, "password": password,
                                       "csrf_token": csrf_token(client)})


def _api(client, username: str, password: str):
    return client.post("/api/v1/auth/token", json={"username": username, "password": password})


WRONG = {_web: 401, _api: 403}     # a wrong password: the page says 401, the API 403


def test_pair_limit_spares_the_user_elsewhere_and_counts_every_way_in(app, db, users, caplog):
    caplog.set_level(logging.WARNING)
    attacker, office = _client(app, "10.9.0.2"), _client(app, "10.9.0.3")
    # The default limit: 10 failures per account and address, web form and API together.
    for i in range(10):
        send = _web if i % 2 else _api
        assert send(attacker, "staff", f"guess number {i}").status_code == WRONG[send], i
    for send in (_web, _api):
        refused = send(attacker, "staff", PASSWORD)      # even the right password
        assert refused.status_code == 429
        assert 0 < int(refused.headers["Retry-After"]) <= 15 * 60
    # In the default language, Vietnamese.
    assert "Đăng nhập sai quá nhiều lần" in _api(attacker, "staff", "x").json["message"]
    # The real user at the office is not locked out, and neither is another account.
    assert _web(office, "staff", PASSWORD).status_code == 302
    assert _api(attacker, "reviewer", PASSWORD).status_code == 201
    alerts = list(db.session.scalars(select(AuditEvent).where(
        AuditEvent.action == "login_throttled")))
    details = [json.loads(a.details) for a in alerts]
    assert [d["scope"] for d in details] == ["pair"]
    assert details[0]["address"] == "10.9.0.2" and details[0]["username"] == "staff"
    assert any("security alert" in r.getMessage() and "scope=pair" in r.getMessage()
               for r in caplog.records)


def test_vietnamese_message_and_retry_after_on_the_page(app, users):
    app.config["LOGIN_LIMIT_PAIR"] = "2 per 15 minutes"
    client = _client(app, "10.9.0.4")
    client.post("/language", data={"lang": "vi", "csrf_token": csrf_token(client)})
    for _ in range(2):
        assert _web(client, "staff", "not the password").status_code == 401
    page = _web(client, "staff", PASSWORD)
    assert page.status_code == 429 and page.headers["Retry-After"].isdigit()
    assert "Đăng nhập sai quá nhiều lần" in page.get_data(as_text=True)


def test_success_resets_the_pair_and_the_window_ends(app, users, clock):
    app.config["LOGIN_LIMIT_PAIR"] = "3 per 15 minutes"
    client = _client(app, "10.9.0.5")
    for _ in range(2):
        assert _api(client, "staff", "wrong one").status_code == 403
    assert _api(client, "staff", PASSWORD).status_code == 201      # resets the pair
    for _ in range(3):
        assert _api(client, "staff", "wrong two").status_code == 403
    assert _api(client, "staff", PASSWORD).status_code == 429
    clock.advance(minutes=16)                                      # the window is over
    assert _api(client, "staff", PASSWORD).status_code == 201


def test_account_ceiling_admits_only_known_addresses_and_admin_unlocks(app, users):
    app.config.update(LOGIN_LIMIT_PAIR="3 per 15 minutes", LOGIN_LIMIT_ACCOUNT="6 per hour")
    assert _web(_client(app, "10.9.1.1"), "staff", PASSWORD).status_code == 302   # known
    for n in range(6):                      # two failures each from three addresses
        assert _api(_client(app, f"10.9.2.{n // 2}"), "staff", "spray").status_code == 403
    assert _api(_client(app, "10.9.3.1"), "staff", PASSWORD).status_code == 429
    assert _api(_client(app, "10.9.3.1"), "reviewer", PASSWORD).status_code == 201
    assert _api(_client(app, "10.9.1.1"), "staff", PASSWORD).status_code == 201
    users_service.unlock("staff")
    assert _api(_client(app, "10.9.3.1"), "staff", PASSWORD).status_code == 201


def test_signature_password_counts_with_sign_in(app, users, procedure):
    from docctl.errors import SignatureError
    from docctl.services import signatures
    app.config["LOGIN_LIMIT_PAIR"] = "3 per 15 minutes"
    with app.test_request_context(environ_base={"REMOTE_ADDR": "10.9.4.1"}):
        for _ in range(2):
            with pytest.raises(SignatureError):
                signatures.confirm_password(users["approver"], "not it")
    client = _client(app, "10.9.4.1")
    assert _api(client, "approver", "nor this").status_code == 403
    assert _api(client, "approver", PASSWORD).status_code == 429
    with app.test_request_context(environ_base={"REMOTE_ADDR": "10.9.4.1"}), \
            pytest.raises(throttle.Throttled):
        signatures.confirm_password(users["approver"], PASSWORD)


def test_password_change_guesses_count_too(app, users, login_as):
    app.config["LOGIN_LIMIT_PAIR"] = "2 per 15 minutes"
    staff = login_as("staff")          # the test client's address: 127.0.0.1
    for _ in range(2):
        answer = staff.post("/account/password", data={
            "csrf_token": csrf_token(staff), "current": "borrowed session guess",
            "new": "a new long passphrase 2026"})
        assert answer.status_code == 403
    refused = staff.post("/account/password", data={
        "csrf_token": csrf_token(staff), "current": PASSWORD,
        "new": "a new long passphrase 2026"})
    assert refused.status_code == 429 and refused.headers["Retry-After"].isdigit()
    assert _api(_client(app, "127.0.0.1"), "staff", PASSWORD).status_code == 429


def test_redis_counters_are_the_same_counters(app, db, users):
    if not _redis_up():
        print("SKIP reason: Redis not reachable on 127.0.0.1:6379")
        pytest.skip("Redis not reachable on 127.0.0.1:6379")
    prefix = f"docctl-test-{uuid.uuid4().hex[:8]}"
    app.config.update(REDIS_URL="redis://127.0.0.1:6379/0", LOGIN_LIMIT_PAIR="3 per 15 minutes",
                      REDIS_PREFIX=prefix)
    app.extensions.pop("docctl.throttle", None)
    addr = f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.7"   # unique per run
    try:
        client = _client(app, addr)
        for send in (_web, _api, _web):
            assert send(client, "staff", "wrong").status_code == WRONG[send]
        store = throttle.counters()
        assert isinstance(store, throttle.RedisCounters)
        assert store.get(f"pair:staff:{addr}")[0] == 3
        assert db.session.scalar(select(func.count()).select_from(LoginCounter)) == 0
        assert _api(client, "staff", PASSWORD).status_code == 429
        assert _web(_client(app, addr + "0"), "staff", PASSWORD).status_code == 302
        users_service.unlock("staff")
        assert store.get(f"pair:staff:{addr}")[0] == 0
        assert _api(client, "staff", PASSWORD).status_code == 201
    finally:
        _drop_redis_keys(prefix)
        app.extensions.pop("docctl.throttle", None)


# ---- a real gunicorn with two workers, real source addresses on 127.0.0.0/8 ---------------

class Server:
    """A gunicorn on 127.0.0.1 whose clients connect from chosen loopback addresses."""

    def __init__(self, port: int, log: Path):
        self.port, self.log = port, log

    def request(self, source: str, method: str, path: str, body: bytes = b"",
                headers: dict | None = None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30,
                                          source_address=(source, 0))
        try:
            conn.request(method, path, body=body, headers=headers or {})
            response = conn.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            conn.close()

    def api(self, source: str, username: str, password: str):
        body = json.dumps({"username": username, "password": password}).encode()
        return self.request(source, "POST", "/api/v1/auth/token", body,
                            {"Content-Type": "application/json"})

    def web(self, source: str, username: str, password: str):
        _status, headers, page = self.request(source, "GET", "/login")
        cookie = SimpleCookie(headers.get("Set-Cookie", ""))
        token = re.search(rb'name="csrf_token" value="([^"]+)"', page).group(1).decode()
        form = urlencode({"username": username, "password": password,
                          "csrf_token": token}).encode()
        return self.request(source, "POST", "/login", form, {
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": "; ".join(f"{k}={v.value}" for k, v in cookie.items())})




@pytest.fixture(params=["database", "redis"])
def server(request, tmp_path):
    if request.param == "redis" and not _redis_up():
        print("SKIP reason: Redis not reachable on 127.0.0.1:6379")
        pytest.skip("Redis not reachable on 127.0.0.1:6379")
    run_id = uuid.uuid4().hex[:8]        # Redis keeps counters between runs: a fresh prefix
    names = {"alice": f"alice{run_id}", "bob": f"bob{run_id}"}
    env = {**os.environ, "DOCCTL_DATA_DIR": str(tmp_path / "data"),
           "DOCCTL_LOGIN_LIMIT_PAIR": "4 per 15 minutes",
           "DOCCTL_LOGIN_LIMIT_ADDRESS": "6 per hour",
           "DOCCTL_LOGIN_LIMIT_ACCOUNT": "10 per hour",
           "DOCCTL_REDIS_URL": "redis://127.0.0.1:6379/0" if request.param == "redis" else "",
           "DOCCTL_REDIS_PREFIX": f"docctl-test-{run_id}"}
    env.pop("DOCCTL_DATABASE_URL", None)
    subprocess.run([*DOCCTL, "init"], cwd=ROOT, env=env, check=True, capture_output=True,
                   timeout=120)
    for name in names.values():
        subprocess.run([*DOCCTL, "create-user", "--username", name, "--name", name, "--role",
                        "staff", "--password", PASSWORD], cwd=ROOT, env=env, check=True,
                       capture_output=True, timeout=60)
    port = free_port()
    access, errors = tmp_path / "access.log", tmp_path / "error.log"
    stderr = errors.open("w")    # gunicorn's and the app's log lines (alerts) go to stderr
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--workers", "2", "--bind", f"127.0.0.1:{port}",
         "--no-control-socket", "--access-logfile", str(access),
         "--access-logformat", "%(h)s pid=%(p)s %(s)s", "docctl.wsgi:app"],
        cwd=ROOT, env=env, stderr=stderr, start_new_session=True)
    try:
        for _ in range(200):
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                time.sleep(0.1)
        else:
            raise RuntimeError(errors.read_text())
        yield Server(port, access), names, errors, env
    finally:
        process.terminate()
        process.wait(timeout=30)
        stderr.close()
        if request.param == "redis":
            _drop_redis_keys(f"docctl-test-{run_id}")


def test_throttling_matrix_across_workers_addresses_accounts_and_endpoints(server):
    srv, names, errors, env = server
    alice, bob = names["alice"], names["bob"]
    # 1. One address guesses alice through both ways in: the fifth try is refused, right or not.
    for i in range(4):
        send, wrong = (srv.web, 401) if i % 2 else (srv.api, 403)
        assert send("127.0.0.2", alice, f"guess {i}")[0] == wrong, i
    status, headers, _ = srv.api("127.0.0.2", alice, PASSWORD)
    assert status == 429 and 0 < int(headers["Retry-After"]) <= 900
    assert srv.web("127.0.0.2", alice, PASSWORD)[0] == 429
    # 2. Alice at her own desk signs in meanwhile.
    assert srv.web("127.0.0.3", alice, PASSWORD)[0] == 302
    # 3. The same address, now guessing bob: its address limit (6) stops it after two.
    for _ in range(2):
        assert srv.api("127.0.0.2", bob, "guess")[0] == 403
    assert srv.api("127.0.0.2", bob, PASSWORD)[0] == 429
    # 4. Success resets the pair: three failures, success, three failures, all answered.
    for _ in range(3):
        assert srv.api("127.0.0.7", bob, "typo")[0] == 403
    assert srv.api("127.0.0.7", bob, PASSWORD)[0] == 201
    for _ in range(3):
        assert srv.web("127.0.0.7", bob, "typo")[0] == 401
    # 5. Spraying alice from more addresses reaches her account ceiling (10 per hour)...
    for source, tries in (("127.0.0.4", 4), ("127.0.0.5", 2)):
        for _ in range(tries):
            assert srv.api(source, alice, "spray")[0] == 403
    # ... after which a new address is refused even with her password, her known one is not.
    assert srv.api("127.0.0.6", alice, PASSWORD)[0] == 429
    assert srv.api("127.0.0.3", alice, PASSWORD)[0] == 201
    assert srv.api("127.0.0.6", bob, PASSWORD)[0] == 201     # the ceiling is per account
    # 6. The administrator unlocks alice: the new address may try again.
    subprocess.run([*DOCCTL, "unlock-user", alice], cwd=ROOT, env=env, check=True,
                   capture_output=True, timeout=60)
    assert srv.api("127.0.0.6", alice, PASSWORD)[0] == 201
    # Both workers answered, so the counts above held across processes.
    pids = set(re.findall(r"pid=<?(\d+)", srv.log.read_text()))
    assert len(pids) == 2, pids
    log = errors.read_text()
    assert "security alert" in log and "scope=account" in log and "scope=address" in log
    assert PASSWORD not in log
