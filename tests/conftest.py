"""Layered fixtures: app → db → users by role → documents."""

import os
import socket
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from flask import g

from config import TestingConfig
from docctl import create_app
from docctl.extensions import db as _db
from docctl.models import Department
from docctl.services import documents
from tests.helpers import PASSWORD, login, make_user, publish  # noqa: F401

ROLES = ["admin", "controller", "reviewer", "approver", "staff", "auditor"]
FIXTURES = Path(__file__).parent / "fixtures"
PG_URL = os.environ.get("DOCCTL_TEST_DATABASE_URL",
                        "postgresql+psycopg2://postgres@127.0.0.1:5432/test")


def _pg_available() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=0.5):
            return True
    except OSError:
        return False


def pytest_configure(config):
    config.addinivalue_line("markers", "load: an office's load on the real server (bounded; "
                            "part of `make test`)")


def pytest_report_header(config):
    if _pg_available():
        return f"PostgreSQL: database tests also run against {PG_URL}"
    return "PostgreSQL: not reachable on 127.0.0.1:5432 — its variants are skipped"


# Each test process gets its own PostgreSQL schema, so parallel runs never share tables.
PG_SCHEMA = f"docctl_test_{os.getpid()}"
_pg_tables_ready = False


@pytest.fixture(scope="session")
def pg_schema():
    """Create this process's schema once; drop it at the end of the session."""
    from sqlalchemy import create_engine, text
    engine = create_engine(PG_URL)
    with engine.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{PG_SCHEMA}"'))
    yield PG_SCHEMA
    with engine.begin() as connection:
        connection.execute(text(f'DROP SCHEMA IF EXISTS "{PG_SCHEMA}" CASCADE'))
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'docctl.sqlite'}"
    if not _pg_available():
        pytest.skip("PostgreSQL not reachable on 127.0.0.1:5432")
    request.getfixturevalue("pg_schema")
    return PG_URL


def _fresh_g():
    g.__dict__.clear()


def _empty_pg_tables():
    from sqlalchemy import text
    names = ", ".join(f'"{t.name}"' for t in _db.metadata.sorted_tables)
    _db.session.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    _db.session.commit()


@pytest.fixture
def app(tmp_path, database_url):
    global _pg_tables_ready

    class Settings(TestingConfig):
        DATA_DIR = str(tmp_path / "data")
        DATABASE_URL = database_url

    postgres = database_url.startswith("postgresql")
    engine = {"pool_pre_ping": True}
    if postgres:
        engine["connect_args"] = {"options": f"-csearch_path={PG_SCHEMA}"}
    application = create_app(Settings, RATELIMIT_ENABLED=False,
                             SQLALCHEMY_ENGINE_OPTIONS=engine)
    # Test requests reuse the fixture's app context, and with it `g`; production gets a fresh
    # `g` per request, so clear it first (else one client's CSRF token or user leaks to another).
    application.before_request_funcs.setdefault(None, []).insert(0, _fresh_g)
    with application.app_context():
        if postgres and _pg_tables_ready:
            _empty_pg_tables()
        else:
            _db.create_all()
            _pg_tables_ready = _pg_tables_ready or postgres
        yield application
        _db.session.remove()
        _db.engine.dispose()
        application.extensions["docctl.store"].close()


@pytest.fixture
def db(app):
    return _db


@pytest.fixture
def clock(app):
    """Let a test move the server's time."""
    class Clock:
        def __init__(self):
            self.moment = datetime.now(UTC)

        def __call__(self):
            return self.moment

        def advance(self, **delta):
            self.moment += timedelta(**delta)

        def today(self) -> date:
            from docctl.services.context import today
            return today()

    c = Clock()
    app.config["DOCCTL_CLOCK"] = c
    return c


@pytest.fixture
def departments(db):
    rows = [Department(code="VP", name="Văn phòng"), Department(code="QLKH",
                                                                name="Phòng Quản lý khoa học")]
    db.session.add_all(rows)
    db.session.commit()
    return rows


@pytest.fixture
def users(departments):
    """One user per role, plus a second reviewer and a second controller."""
    people = {role: make_user(role, role) for role in ROLES}
    people["reviewer2"] = make_user("reviewer2", "reviewer")
    people["controller2"] = make_user("controller2", "controller")
    return people


@pytest.fixture
def procedure(users):
    """A registered procedure QT-01 with one effective revision."""
    documents.register_document(users["controller"], {
        "type": "procedure", "title": "Quy trình kiểm soát tài liệu", "department": "VP"})
    publish(users, "QT-01", text="phiên bản một")
    return "QT-01"


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def token(client, users):
    """Return a function giving the bearer header of a user's API token."""
    def get(username: str) -> dict:
        response = client.post("/api/v1/auth/token",
                               json={"username": username, "password": PASSWORD})
        assert response.status_code == 201, response.get_json()
        return {"Authorization": f"Bearer {response.get_json()['token']}"}
    return get


@pytest.fixture
def login_as(app):
    """Return a function giving a signed-in test client for a username."""
    def sign_in(username: str):
        c = app.test_client()
        login(c, username)
        return c
    return sign_in
