"""The docctl command on a real data directory; migrations match the models; verify finds faults."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

ROOT = Path(__file__).resolve().parent.parent
DOCCTL = [sys.executable, "-c", "from docctl.cli import main; main()"]


def run(data_dir: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    env = {**os.environ, "DOCCTL_DATA_DIR": str(data_dir)}
    env.pop("DOCCTL_DATABASE_URL", None)
    result = subprocess.run([*DOCCTL, *args], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=300)
    if check:
        assert result.returncode == 0, result.stdout + result.stderr
    return result


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    data = tmp_path_factory.mktemp("demo")
    first = run(data, "init", "--demo")
    return data, first


def git(data: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(data / "repo_store"), *args], capture_output=True,
                          text=True, check=True).stdout


def test_init_demo_creates_a_lived_in_register(demo):
    data, first = demo
    assert "docctl-demo" in first.stdout and "secretary" in first.stdout
    log = git(data, "log", "--format=%s")
    assert "QT-01 r3: supersedes r2" in log and "QT-05 r1: withdraw" in log
    assert "QT-01/r3" in git(data, "tag")


def test_init_is_idempotent(demo):
    data, _ = demo
    head = git(data, "rev-parse", "HEAD")
    again = run(data, "init", "--demo")
    assert "already present" in again.stdout
    assert git(data, "rev-parse", "HEAD") == head


def test_verify_clean_then_detects_faults(demo, tmp_path):
    data, _ = demo
    assert "OK" in run(data, "verify").stdout
    # Work on a copy so the other tests keep a clean demo.
    copy = tmp_path / "copy"
    subprocess.run(["cp", "-a", str(data), str(copy)], check=True)
    import sqlite3
    db = sqlite3.connect(copy / "docctl.sqlite")
    db.execute("UPDATE revision SET commit_sha = ? WHERE id = (SELECT min(id) FROM revision)",
               ("f" * 40,))
    db.commit()
    # The migration's trigger refuses the edit; a database owner can still drop it first.
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        db.execute("UPDATE audit_event SET reason = 'edited' WHERE seq = 5")
    db.execute("DROP TRIGGER audit_event_no_update")
    db.execute("UPDATE audit_event SET reason = 'edited' WHERE seq = 5")
    db.commit()
    db.close()
    git(copy, "tag", "-f", "-a", "-m", "moved", "QT-01/r1", "HEAD")
    result = run(copy, "verify", check=False)
    assert result.returncode == 1
    assert "missing from git" in result.stdout
    assert "tag QT-01/r1" in result.stdout
    assert "audit: entry 5 was altered" in result.stdout


def test_tick_runs(demo):
    data, _ = demo
    assert "revision(s) took effect" in run(data, "tick").stdout


def test_create_user_refuses_weak_password(demo):
    data, _ = demo
    env = {**os.environ, "DOCCTL_DATA_DIR": str(data)}
    result = subprocess.run([*DOCCTL, "create-user", "--username", "newbie", "--name", "Mới",
                             "--role", "staff", "--password", "123456789"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode != 0 and "Traceback" not in result.stderr


def test_migrations_match_the_models(demo):
    """The schema built by Alembic equals the models: no un-migrated change."""
    data, _ = demo
    from sqlalchemy import create_engine

    from docctl.extensions import db
    engine = create_engine(f"sqlite:///{data / 'docctl.sqlite'}")
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), db.metadata)
    assert diff == []


def test_a_fresh_install_without_the_demo_creates_its_departments_and_people(tmp_path):
    data = tmp_path / "agency"
    run(data, "init")
    made = run(data, "create-department", "VP", "Văn phòng Sở")
    assert "created department VP: Văn phòng Sở" in made.stdout
    again = run(data, "create-department", "vp", "Trùng mã", check=False)
    assert again.returncode == 1 and "Traceback" not in again.stderr
    assert "Đã có đơn vị với mã này" in again.stderr
    bad = run(data, "create-department", "V P", "Khoảng trắng", check=False)
    assert bad.returncode == 1 and "Mã đơn vị" in bad.stderr
    user = run(data, "create-user", "--username", "thuky", "--name", "Trần Thị Hà",
               "--role", "controller", "--department", "VP",
               "--password", "một câu mật khẩu đủ dài")
    assert "created thuky (controller)" in user.stdout
    assert run(data, "verify").returncode == 0
