"""docctl backup while approvals go on, docctl restore into an empty instance, and refusals."""

import json
import sqlite3
import subprocess
import threading
from pathlib import Path

import pytest
from sqlalchemy import select

from docctl.extensions import db
from docctl.models import Intent, Revision
from docctl.services import audit
from tests.helpers import publish
from tests.ops.instances import (
    Instance,
    git,
    users_by_role,
)

MAX_PUBLISHES = 12


@pytest.fixture
def kind(template):
    return "postgresql" if template.url else "sqlite"


def _publishing_while(app, during) -> tuple[int, object]:
    """Publish QT-01 revisions in a thread while during() runs; return (count, its result)."""
    started, stop, errors, count = threading.Event(), threading.Event(), [], [0]

    def publisher():
        with app.app_context():
            try:
                people = users_by_role()
                for i in range(MAX_PUBLISHES):
                    if stop.is_set():
                        break
                    publish(people, "QT-01", text=f"phiên bản {i + 2}", reason="sửa đổi")
                    count[0] += 1
                    started.set()
            except Exception as exc:   # noqa: BLE001 (reported by the assertion below)
                errors.append(exc)
                started.set()
            finally:
                db.session.remove()

    thread = threading.Thread(target=publisher)
    thread.start()
    assert started.wait(120), "the publisher never got going"
    try:
        result = during()
    finally:
        stop.set()
        thread.join(180)
    assert not errors, errors
    return count[0], result


def test_backup_taken_while_publishing_restores_clean(kind, live, databases, tmp_path):
    if kind == "sqlite":
        # WAL: the backup copies a read snapshot while the publisher keeps writing (the other
        # tests here cover the rollback-journal path, copied under the store lock).
        with sqlite3.connect(live.data / "docctl.sqlite") as connection:
            assert connection.execute("PRAGMA journal_mode=WAL").fetchone() == ("wal",)
    with live.app() as app:
        published, backup = _publishing_while(
            app, lambda: live.cli("backup", str(tmp_path / "backup")))
    assert published >= 1
    assert "database:" in backup.stdout and "git store:" in backup.stdout
    manifest = json.loads((tmp_path / "backup" / "manifest.json").read_text())
    assert set(manifest["files"]) == {manifest["database"]["file"], "store.bundle",
                                      "secret_key", "settings.json"}

    restored = Instance(tmp_path / "restored",
                        databases.new("restored") if kind == "postgresql" else None)
    result = restored.cli("restore", str(tmp_path / "backup"), check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "OK: git store, database, signatures and audit trail agree." in result.stdout
    assert "Traceback" not in result.stderr

    store = restored.data / "repo_store"
    fsck = subprocess.run(["git", "-C", str(store), "fsck", "--strict", "--full"],
                          capture_output=True, text=True)
    assert fsck.returncode == 0, fsck.stdout + fsck.stderr
    assert git(store, "rev-parse", "refs/heads/main").strip() == manifest["git"]["head"]
    assert git(store, "status", "--porcelain") == ""
    with restored.app():
        shas = set(db.session.scalars(select(Revision.commit_sha).where(
            Revision.commit_sha.is_not(None))))
        shas |= set(db.session.scalars(select(Intent.commit_sha).where(
            Intent.state == "done", Intent.commit_sha.is_not(None))))
        assert manifest["database"]["db_head"] in shas
        assert audit.verify_chain() == []
        revisions = db.session.scalar(select(db.func.count(Revision.id)))
        assert revisions == manifest["database"]["counts"]["revision"]
    missing = subprocess.run(["git", "-C", str(store), "cat-file", "--batch-check"],
                             input="".join(f"{sha}^{{commit}}\n" for sha in shas),
                             capture_output=True, text=True, check=True).stdout
    assert "missing" not in missing and len(missing.splitlines()) == len(shas)
    # The secret key came back: the restored instance's signatures verify (checked above).
    assert (restored.data / "secret_key").read_text() == (live.data / "secret_key").read_text()


def test_backup_refuses_a_non_empty_destination(live, tmp_path):
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / "old.txt").write_text("another backup")
    result = live.cli("backup", str(dest), check=False)
    assert result.returncode != 0
    assert "is not empty" in result.stderr and "Traceback" not in result.stderr
    assert sorted(p.name for p in dest.iterdir()) == ["old.txt"]


def test_restore_refuses_damage_and_non_empty_targets(kind, live, databases, tmp_path):
    backup = tmp_path / "backup"
    live.cli("backup", str(backup))

    occupied = Instance(tmp_path / "occupied")
    occupied.data.mkdir()
    (occupied.data / "docctl.sqlite").write_bytes(b"")
    result = occupied.cli("restore", str(backup), check=False)
    assert result.returncode != 0 and "is not empty" in result.stderr

    if kind == "postgresql":
        # The target database already holds an instance: refused, nothing overwritten.
        result = Instance(tmp_path / "empty-dir", live.url).cli("restore", str(backup),
                                                                check=False)
        assert result.returncode != 0 and "is not empty" in result.stderr
        assert not (tmp_path / "empty-dir").exists()

    target = Instance(tmp_path / "target",
                      databases.new("target") if kind == "postgresql" else None)
    bundle = backup / "store.bundle"
    data = bytearray(bundle.read_bytes())
    data[len(data) // 2] ^= 0xFF
    bundle.write_bytes(bytes(data))
    result = target.cli("restore", str(backup), check=False)
    assert result.returncode != 0
    assert "store.bundle does not match" in result.stderr
    assert "Traceback" not in result.stderr
    assert not target.data.exists()

    (backup / "manifest.json").write_text("{ not json")
    result = target.cli("restore", str(backup), check=False)
    assert result.returncode != 0 and "manifest.json is damaged" in result.stderr


def test_restore_of_an_unfinished_backup_is_refused(live, tmp_path):
    backup = tmp_path / "backup"
    live.cli("backup", str(backup))
    (backup / "manifest.json").unlink()
    result = Instance(tmp_path / "target").cli("restore", str(backup), check=False)
    assert result.returncode != 0 and "no manifest.json" in result.stderr


def test_backup_prints_progress_and_keeps_settings_secret(live, tmp_path, monkeypatch):
    env_key = "DOCCTL_ORG_NAME"
    monkeypatch.setenv(env_key, "Sở Thử nghiệm")
    monkeypatch.setenv("DOCCTL_SMTP_PASSWORD", "hunter2")
    result = live.cli("backup", str(tmp_path / "backup"))
    assert "backup into" in result.stdout and "done in" in result.stdout
    settings = json.loads((tmp_path / "backup" / "settings.json").read_text())
    assert settings["environment"][env_key] == "Sở Thử nghiệm"
    assert "hunter2" not in json.dumps(settings)
    key = Path(tmp_path / "backup" / "secret_key")
    assert oct(key.stat().st_mode & 0o777) == "0o600"
