"""Fixtures for the audit trail tests: reading the trail, tampering as a DB owner, git."""

import contextlib
import os
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import select, text

from docctl.models import AuditEvent
from docctl.services import audit
from tests.helpers import PASSWORD, publish

CLIENT_IP = "10.20.30.40"


class Trail:
    """Read the audit trail from a test."""

    def __init__(self, db):
        self.db = db

    def mark(self) -> int:
        """Return the newest seq now."""
        self.db.session.expire_all()
        return self.db.session.scalar(select(AuditEvent.seq).order_by(
            AuditEvent.seq.desc()).limit(1)) or 0

    def since(self, mark: int) -> list[AuditEvent]:
        """Return the entries written after mark, in order."""
        self.db.session.expire_all()
        return list(self.db.session.scalars(select(AuditEvent).where(AuditEvent.seq > mark)
                                            .order_by(AuditEvent.seq)))

    def one(self, action: str, mark: int) -> AuditEvent:
        """Return the single entry of action after mark, failing on none or several."""
        found = [e for e in self.since(mark) if e.action == action]
        assert len(found) == 1, (action, [(e.seq, e.action) for e in self.since(mark)])
        return found[0]


@pytest.fixture
def trail(db):
    return Trail(db)


@pytest.fixture
def as_user(app, login_as):
    """Return a signed-in client whose requests come from CLIENT_IP."""
    def sign_in(username: str):
        client = app.test_client()
        client.environ_base["REMOTE_ADDR"] = CLIENT_IP
        from tests.helpers import login
        login(client, username)
        return client
    return sign_in


@pytest.fixture
def bearer(app):
    """Return Authorization headers with a fresh API token for a username."""
    def token_for(username: str) -> dict:
        response = app.test_client().post("/api/v1/auth/token",
                                          json={"username": username, "password": PASSWORD})
        assert response.status_code == 201, response.get_data(as_text=True)
        return {"Authorization": f"Bearer {response.get_json()['token']}"}
    return token_for


@pytest.fixture
def owner_sql(db):
    """Run SQL as the database owner would, around the append-only triggers."""
    @contextlib.contextmanager
    def tampering():
        db.session.commit()   # no open transaction may hold locks on audit_event
        dialect = db.engine.dialect.name
        with db.engine.begin() as connection:
            if dialect == "sqlite":
                connection.execute(text("DROP TRIGGER audit_event_no_update"))
                connection.execute(text("DROP TRIGGER audit_event_no_delete"))
            else:
                connection.execute(text("ALTER TABLE audit_event DISABLE TRIGGER "
                                        "audit_event_append_only"))
            try:
                yield connection
            finally:
                if dialect == "sqlite":
                    for statement in audit.APPEND_ONLY_DDL["sqlite"]:
                        connection.execute(text(statement))
                else:
                    connection.execute(text("ALTER TABLE audit_event ENABLE TRIGGER "
                                            "audit_event_append_only"))
        db.session.expire_all()
    return tampering


@pytest.fixture
def git(app):
    """Run git in the app's store; return stdout."""
    store = Path(app.config["REPO_STORE"])

    def run(*args: str, check: bool = True) -> str:
        env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
        env.update(GIT_CONFIG_NOSYSTEM="1", GIT_CONFIG_GLOBAL=os.devnull,
                   GIT_AUTHOR_NAME="x", GIT_AUTHOR_EMAIL="x@x", GIT_COMMITTER_NAME="x",
                   GIT_COMMITTER_EMAIL="x@x")
        result = subprocess.run(["git", "-C", str(store), *args], capture_output=True,
                                env=env, check=check)
        return result.stdout.decode()
    return run


@pytest.fixture
def two_revisions(users, procedure, clock):
    """QT-01: r1 superseded by r2 (effective), published two days apart."""
    clock.advance(days=2)
    publish(users, "QT-01", text="phiên bản hai", reason="Sửa đổi bước 2")
    return users
