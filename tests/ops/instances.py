"""Real docctl instances for the operations tests: a data folder, its database, its CLI."""

import os
import shutil
import socket
import subprocess
import sys
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from flask import g
from sqlalchemy import create_engine, text

from config import Config
from docctl import create_app
from docctl.extensions import db
from docctl.models import Department, User
from docctl.services import documents, reviews
from tests.helpers import docx_bytes, make_user, publish

ROOT = Path(__file__).resolve().parents[2]
DOCCTL = [sys.executable, "-c", "from docctl.cli import main; main()"]
PG_ADMIN = os.environ.get("DOCCTL_TEST_DATABASE_URL",
                          "postgresql+psycopg2://postgres@127.0.0.1:5432/test")
ROLES = ("admin", "controller", "reviewer", "approver", "staff", "auditor")


def _fresh_g() -> None:
    g.__dict__.clear()


def pg_skip_reason() -> str | None:
    """Return why the PostgreSQL variants cannot run here, or None when they can."""
    if not shutil.which("pg_dump") or not shutil.which("pg_restore"):
        return "pg_dump/pg_restore not installed (Debian: postgresql-client)"
    if not pg_available():
        return "PostgreSQL not reachable on 127.0.0.1:5432"
    return None


def pg_available() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=0.5):
            return True
    except OSError:
        return False


@dataclass
class Instance:
    """One docctl installation: its data folder and, for PostgreSQL, its own database."""

    data: Path
    url: str | None = None

    def env(self) -> dict:
        env = {**os.environ, "DOCCTL_DATA_DIR": str(self.data)}
        env.pop("DOCCTL_DATABASE_URL", None)
        env.pop("DOCCTL_SECRET_KEY", None)
        if self.url:
            env["DOCCTL_DATABASE_URL"] = self.url
        return env

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        """Run the docctl command against this instance."""
        result = subprocess.run([*DOCCTL, *args], cwd=ROOT, env=self.env(),
                                capture_output=True, text=True, timeout=300)
        if check:
            assert result.returncode == 0, result.stdout + result.stderr
        return result

    @contextmanager
    def app(self):
        """Yield this instance's app inside an app context, then close what it opened."""
        instance = self

        class Settings(Config):
            DATA_DIR = str(instance.data)
            DATABASE_URL = instance.url

        application = create_app(Settings, RATELIMIT_ENABLED=False)
        # Test requests share this app context and its `g` (see tests/conftest.py _fresh_g).
        application.before_request_funcs.setdefault(None, []).insert(0, _fresh_g)
        try:
            with application.app_context():
                yield application
                db.session.remove()
        finally:
            with application.app_context():
                db.engine.dispose()
            application.extensions["docctl.store"].close()


class Databases:
    """Create PostgreSQL databases for one test and drop them afterwards."""

    def __init__(self):
        self.names: list[str] = []

    def new(self, label: str, template: str | None = None) -> str:
        """Return the URL of a new database, empty or a copy of template's."""
        name = f"docctl_ops_{label}_{uuid.uuid4().hex[:8]}"
        source = f' TEMPLATE "{template.rsplit("/", 1)[1]}"' if template else ""
        self._admin(f'CREATE DATABASE "{name}"{source}')
        self.names.append(name)
        return PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"

    def drop_all(self) -> None:
        for name in self.names:
            self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    @staticmethod
    def _admin(statement: str) -> None:
        engine = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as connection:
                connection.execute(text(statement))
        finally:
            engine.dispose()


def users_by_role() -> dict:
    """Return the instance's test users, keyed as tests.helpers.publish expects."""
    return {user.username: user for user in db.session.query(User)}


def build(root: Path, kind: str, databases: Databases, label: str = "live") -> Instance:
    """Initialise an instance with users, one procedure and its first effective revision."""
    inst = Instance(root / label, databases.new(label) if kind == "postgresql" else None)
    inst.cli("init")
    with inst.app():
        db.session.add(Department(code="VP", name="Văn phòng"))
        db.session.commit()
        for role in ROLES:
            make_user(role, role)
        people = users_by_role()
        documents.register_document(people["controller"], {
            "type": "procedure", "title": "Quy trình kiểm soát tài liệu", "department": "VP"})
        publish(people, "QT-01", text="phiên bản một")
    return inst


def awaiting_approval(code: str, text_: str) -> int:
    """Upload and review a revision, leaving it for the approver; return its number."""
    people = users_by_role()
    revision = documents.upload_revision(people["controller"], code, filename=f"{code}.docx",
                                         data=docx_bytes(text_, code), reason="sửa đổi",
                                         change="reissue")
    reviews.submit(people["controller"], code, revision.number, reviewers=["reviewer"],
                   approver="approver")
    reviews.review(people["reviewer"], code, revision.number, decision="accept", comment="ok")
    return revision.number


def clone(source: Instance, target: Path, databases: Databases) -> Instance:
    """Copy an instance that nothing is using: its data folder and its database."""
    shutil.copytree(source.data, target, symlinks=True)
    return Instance(target, databases.new("clone", source.url) if source.url else None)


def git(store: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(store), *args], capture_output=True, text=True,
                          check=True).stdout
