"""A lost or changed secret key stops docctl; a broken git store is a finding, never a crash."""

import sqlite3
import subprocess
import sys
from pathlib import Path

from bench.server import free_port
from docctl.services.secretkey import FINGERPRINT, fingerprint
from tests.ops.instances import ROOT, Instance, git

NEEDS_PG_DUMP = False   # no backup here: the PostgreSQL variants need only the server


def _gunicorn(inst: Instance) -> subprocess.CompletedProcess:
    """Start gunicorn on the instance; it must stop by itself, so a timeout is a failure."""
    return subprocess.run([sys.executable, "-m", "gunicorn", "--workers", "1", "--bind",
                           f"127.0.0.1:{free_port()}", "--no-control-socket", "docctl.wsgi:app"],
                          cwd=ROOT, env=inst.env(), capture_output=True, text=True, timeout=60)


def test_fresh_install_creates_the_key_and_keeps_its_fingerprint(tmp_path):
    fresh = Instance(tmp_path / "fresh")
    fresh.cli("init")
    key = (fresh.data / "secret_key").read_text()
    assert len(key) == 64 and oct((fresh.data / "secret_key").stat().st_mode & 0o777) == "0o600"
    fresh.cli("tick")   # the next start compares the key and stores its fingerprint
    with sqlite3.connect(fresh.data / "docctl.sqlite") as connection:
        stored = connection.execute("SELECT value FROM setting WHERE name = ?",
                                    (FINGERPRINT,)).fetchone()
    assert stored == (fingerprint(key),)
    assert key not in stored[0]


def test_missing_key_with_signatures_refuses_to_start(live):
    (live.data / "secret_key").unlink()
    result = live.cli("tick", check=False)
    assert result.returncode != 0
    assert "secret key file" in result.stderr and "is missing" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (live.data / "secret_key").exists(), "a new key was invented"
    verify = live.cli("verify", check=False)
    assert verify.returncode == 1 and "FAIL [startup]" in verify.stdout
    server = _gunicorn(live)
    assert server.returncode == 4
    assert "is missing" in server.stderr and "Traceback" not in server.stderr
    assert not (live.data / "secret_key").exists()


def test_changed_key_refuses_to_start_and_the_right_one_starts(live):
    original = (live.data / "secret_key").read_text()
    (live.data / "secret_key").write_text("0" * 64)
    result = live.cli("tick", check=False)
    assert result.returncode != 0
    assert "not the one the signatures in the database were sealed with" in result.stderr
    assert "Traceback" not in result.stderr
    env_key = subprocess.run(
        [sys.executable, "-c", "from docctl.cli import main; main()", "tick"], cwd=ROOT,
        env={**live.env(), "DOCCTL_SECRET_KEY": "1" * 64}, capture_output=True, text=True,
        timeout=120)
    assert env_key.returncode != 0 and "not the one" in env_key.stderr
    (live.data / "secret_key").write_text(original)
    live.cli("tick")
    assert "OK:" in live.cli("verify").stdout


def _loose_object(store: Path, sha: str) -> Path:
    return store / ".git" / "objects" / sha[:2] / sha[2:]


def test_missing_git_objects_are_findings_not_a_traceback(live):
    store = live.data / "repo_store"
    head = git(store, "rev-parse", "HEAD").strip()
    blob = git(store, "rev-parse", "HEAD:documents/QT/QT-01/source.docx").strip()
    _loose_object(store, blob).unlink()
    result = live.cli("verify", check=False)
    assert result.returncode == 1
    assert "Traceback" not in result.stdout + result.stderr
    assert "FAIL [git] git fsck:" in result.stdout
    assert "QT-01 r1: commit" in result.stdout and "missing from git" in result.stdout

    _loose_object(store, head).unlink()   # the newest commit itself: history is unreadable
    result = live.cli("verify", check=False)
    assert result.returncode == 1
    assert "Traceback" not in result.stdout + result.stderr
    assert "could not be checked" in result.stdout


def test_unreadable_store_and_database_are_findings(live):
    (live.data / "repo_store" / ".git" / "HEAD").write_text("garbage\n")
    result = live.cli("verify", check=False)
    assert result.returncode == 1
    assert "FAIL [" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr
    if live.url is None:
        (live.data / "docctl.sqlite").write_bytes(b"this is not a database" * 100)
        result = live.cli("verify", check=False)
        assert result.returncode == 1 and "FAIL [" in result.stdout
        assert "Traceback" not in result.stdout + result.stderr


def test_stray_work_tree_files_are_reported(live):
    """verify calls the store's stray_files() when the store offers it."""
    from docctl.services import verify
    from docctl.services.context import store
    with live.app():
        gitstore = store()
        gitstore.stray_files = lambda: ["documents/QT/QT-01/leftover.docx"]
        findings = [str(f) for f in verify.check(fsck=False)]
    assert findings == ["stray file in the store's work tree: documents/QT/QT-01/leftover.docx"]
