"""A new agency from nothing: `docctl init --org --admin`, departments, users, a first document."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from config import TestingConfig

ROOT = Path(__file__).resolve().parent.parent
DOCCTL = [sys.executable, "-c", "from docctl.cli import main; main()"]
ORG = "Sở Khoa học và Công nghệ tỉnh Mẫu"
ADMIN_PASSWORD = "ngay dau tien cua so"
SECRETARY_PASSWORD = "so tay chat luong moi nam"


def run(data: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "DOCCTL_DATA_DIR": str(data)}
    env.pop("DOCCTL_DATABASE_URL", None)
    return subprocess.run([*DOCCTL, *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300, input=stdin)


@pytest.fixture(scope="module")
def agency(tmp_path_factory):
    data = tmp_path_factory.mktemp("agency")
    first = run(data, "init", "--org", ORG, "--admin", "quantri", "--password-stdin",
                stdin=ADMIN_PASSWORD + "\n")
    assert first.returncode == 0, first.stdout + first.stderr
    return data, first


def _app(data: Path):
    from docctl import create_app

    class Settings(TestingConfig):
        DATA_DIR = str(data)
        SECRET_KEY = None   # the data folder's own key, as the command line uses

    return create_app(Settings, RATELIMIT_ENABLED=False)


def test_init_names_the_organisation_and_creates_an_administrator(agency):
    data, first = agency
    assert "created administrator quantri" in first.stdout
    assert ADMIN_PASSWORD not in first.stdout + first.stderr   # never echoed
    assert "demo" not in first.stdout                           # no demo organisation
    app = _app(data)
    with app.app_context():
        from docctl.extensions import db
        from docctl.models import AuditEvent, Department, Document, User
        from docctl.services import organisation
        assert organisation.name() == ORG
        admin = db.session.query(User).filter_by(username="quantri").one()
        assert admin.roles == ("admin",) and admin.active and not admin.must_change_password
        assert db.session.query(Department).count() == 0
        assert db.session.query(Document).count() == 0
        # The password is in no audit entry, even hashed.
        details = " ".join(e.details or "" for e in db.session.query(AuditEvent))
        assert ADMIN_PASSWORD not in details and admin.password_hash not in details
        db.session.remove()
        db.engine.dispose()
        app.extensions["docctl.store"].close()


def test_rerunning_with_an_existing_admin_is_a_clear_error(agency):
    data, _ = agency
    again = run(data, "init", "--admin", "quantri", "--password-stdin",
                stdin="mot mat khau khac hoan toan\n")
    assert again.returncode == 1
    assert "already exists" in again.stderr and "Traceback" not in again.stderr


def test_a_weak_first_password_is_refused_without_a_traceback(tmp_path):
    result = run(tmp_path, "init", "--org", ORG, "--admin", "quantri", "--password-stdin",
                 stdin="khoa hoc va cong nghe\n")   # holds the organisation's name
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "created administrator" not in result.stdout


def test_departments_users_and_a_first_document_through_the_api(agency):
    data, _ = agency
    made = run(data, "create-department", "P.KHTC", "Phòng Kế hoạch - Tài chính",
               "--name-en", "Planning and Finance")
    assert made.returncode == 0, made.stderr
    made = run(data, "create-user", "--username", "thuky", "--name", "Nguyễn Thị Thư Ký",
               "--role", "controller", "--role", "reviewer", "--department", "p.khtc",
               "--email", "thuky@so.example.vn", "--password", SECRETARY_PASSWORD)
    assert made.returncode == 0, made.stderr
    assert "controller, reviewer" in made.stdout

    app = _app(data)
    with app.app_context():
        client = app.test_client()
        token = client.post("/api/v1/auth/token", json={
            "username": "thuky", "password": SECRETARY_PASSWORD}).get_json()["token"]
        auth = {"Authorization": f"Bearer {token}"}
        me = client.get("/api/v1/me", headers=auth).get_json()
        assert me["roles"] == ["controller", "reviewer"]
        created = client.post("/api/v1/documents", headers=auth, json={
            "type": "procedure", "title": "Quy trình kiểm soát tài liệu",
            "department": "P.KHTC"})
        assert created.status_code == 201, created.get_data(as_text=True)
        assert created.get_json()["department"] == "P.KHTC"
        # The administrator sees both through the admin API; the secretary may not.
        admin_token = client.post("/api/v1/auth/token", json={
            "username": "quantri", "password": ADMIN_PASSWORD}).get_json()["token"]
        listed = client.get("/api/v1/users",
                            headers={"Authorization": f"Bearer {admin_token}"}).get_json()
        people = {u["username"]: u for u in listed["users"]}
        assert people["thuky"]["department"] == "P.KHTC"
        assert people["thuky"]["email"] == "thuky@so.example.vn"
        assert client.get("/api/v1/users", headers=auth).status_code == 403
        from docctl.extensions import db
        db.session.remove()
        db.engine.dispose()
        app.extensions["docctl.store"].close()


def test_the_command_line_changes_departments_and_users(agency):
    data, _ = agency
    assert run(data, "create-department", "TTR", "Thanh tra").returncode == 0
    off = run(data, "update-department", "ttr", "--name", "Thanh tra Sở", "--deactivate")
    assert off.returncode == 0 and "TTR: Thanh tra Sở (deactivated)" in off.stdout
    made = run(data, "create-user", "--username", "canbo", "--name", "Cán Bộ", "--role",
               "staff", "--department", "TTR", "--password", SECRETARY_PASSWORD)
    assert made.returncode == 1 and "Traceback" not in made.stderr   # deactivated department
    made = run(data, "create-user", "--username", "canbo", "--name", "Cán Bộ", "--role",
               "staff", "--password", SECRETARY_PASSWORD)
    assert made.returncode == 0, made.stderr
    changed = run(data, "update-user", "canbo", "--role", "staff", "--role", "reviewer",
                  "--department", "P.KHTC", "--email", "canbo@so.example.vn")
    assert changed.returncode == 0 and "canbo (reviewer, staff)" in changed.stdout
    last = run(data, "update-user", "quantri", "--role", "auditor")
    assert last.returncode == 1 and "Traceback" not in last.stderr   # the last administrator
    reset = run(data, "reset-password", "canbo")
    assert reset.returncode == 0
    temporary = reset.stdout.rsplit(": ", 1)[1].strip()

    app = _app(data)
    with app.app_context():
        from tests.helpers import login
        client = app.test_client()
        signed = login(client, "canbo", temporary)
        assert signed.headers["Location"].endswith("/account/password")
        assert client.get("/documents").status_code == 302
        from docctl.extensions import db
        from docctl.models import AuditEvent
        assert temporary not in " ".join(e.details or "" for e in db.session.query(AuditEvent))
        db.session.remove()
        db.engine.dispose()
        app.extensions["docctl.store"].close()
