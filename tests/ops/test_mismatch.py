"""Git and the database restored out of step: verify names it, --repair replays, publish refuses."""

import re
import shutil
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from docctl.domain.lifecycle import Status
from docctl.errors import Conflict
from docctl.extensions import db
from docctl.models import AuditEvent, Document, Revision
from docctl.services import backup, publishing, restore
from docctl.services.context import today
from tests.helpers import PASSWORD, login, publish
from tests.ops.instances import (
    awaiting_approval,
    git,
    users_by_role,
)


def _old_database_into(live, backup_dir, databases):
    """Put the backup's (older) database under the live git store."""
    manifest = restore.check_backup(backup_dir)
    if live.url is None:
        shutil.copyfile(backup_dir / manifest["database"]["file"], live.data / "docctl.sqlite")
        return live
    live.url = databases.new("old")
    from sqlalchemy.engine import make_url
    restore._pg_restore(backup_dir / manifest["database"]["file"], make_url(live.url))
    return live


def test_database_older_than_git_is_named_then_repaired(live, databases, tmp_path):
    with live.app():
        in_review = awaiting_approval("QT-01", "phiên bản hai")     # known to the old DB
        backup.create(tmp_path / "backup")
        people = users_by_role()
        publishing.approve(people["approver"], "QT-01", in_review, password=PASSWORD,
                           effective_date=today())
        newer = publish(people, "QT-01", text="phiên bản ba", reason="sửa lần ba")
        publishing.withdraw(people["controller"], "QT-01", reason="thôi áp dụng",
                            password=PASSWORD)
    mixed = _old_database_into(live, tmp_path / "backup", databases)
    withdrawal, *shas = git(mixed.data / "repo_store", "log", "-3", "--format=%H").split()

    result = mixed.cli("verify", check=False)
    assert result.returncode == 1
    assert "Traceback" not in result.stdout + result.stderr
    assert (f"git commit {shas[1][:12]} records publish of QT-01 r{in_review}, which the "
            "database lacks") in result.stdout
    assert f"git commit {shas[0][:12]} records publish of QT-01 r{newer}" in result.stdout
    assert f"git commit {withdrawal[:12]} records withdraw of QT-01 r{newer}" in result.stdout

    with mixed.app() as app:
        people = users_by_role()
        # Before the repair, approving again would collide with git's tag: a clear refusal.
        with pytest.raises(Conflict, match="verify --repair"):
            publishing.approve(people["approver"], "QT-01", in_review, password=PASSWORD,
                               effective_date=today())
        db.session.rollback()
        client = app.test_client()
        login(client, "approver")
        page = client.post(f"/documents/QT-01/revisions/{in_review}/approve",
                           data={"password": PASSWORD, "effective_date": today().isoformat(),
                                 "csrf_token": _csrf(client, in_review)})
        assert page.status_code == 409, page.get_data(as_text=True)[-3000:]
        assert "verify --repair" in page.get_data(as_text=True)

    repaired = mixed.cli("verify", "--repair", check=False)
    assert repaired.returncode == 0, repaired.stdout + repaired.stderr
    assert "3 commit(s) replayed" in repaired.stdout
    assert "OK: git store, database, signatures and audit trail agree." in repaired.stdout
    with mixed.app():
        document = db.session.scalar(select(Document).where(Document.code == "QT-01"))
        statuses = {r.number: r.status for r in document.revisions}
        assert statuses[in_review] == Status.SUPERSEDED and statuses[newer] == Status.OBSOLETE
        assert document.status == "obsolete" and document.withdrawn_reason == "thôi áp dụng"
        commits = {r.number: r.commit_sha for r in document.revisions}
        assert (commits[in_review], commits[newer]) == (shas[1], shas[0])
        replayed = db.session.scalars(select(AuditEvent.details).where(
            AuditEvent.action == "replayed_from_git")).all()
        assert len(replayed) == 3
    # A second repair finds nothing left to replay.
    again = mixed.cli("verify", "--repair", check=False)
    assert again.returncode == 0 and "0 commit(s) replayed" in again.stdout


def _csrf(client, number: int) -> str:
    page = client.get(f"/documents/QT-01/revisions/{number}/approve").get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def test_git_older_than_database_is_reported_and_publish_refused(live, databases, tmp_path):
    with live.app():
        backup.create(tmp_path / "backup")
        people = users_by_role()
        lost = publish(people, "QT-01", text="phiên bản hai", reason="sửa đổi")
        waiting = awaiting_approval("QT-01", "phiên bản ba")
        lost_sha = db.session.scalar(select(Revision.commit_sha).where(
            Revision.number == lost))
    # Put the backup's older git store under the newer database.
    manifest = restore.check_backup(tmp_path / "backup")
    shutil.rmtree(live.data / "repo_store")
    restore._restore_store(tmp_path / "backup" / "store.bundle", live.data / "repo_store",
                           manifest["git"])

    result = live.cli("verify", check=False)
    assert result.returncode == 1
    assert "Traceback" not in result.stdout + result.stderr
    assert (f"the database records publish of QT-01 r{lost} at git commit {lost_sha[:12]}, "
            "which the git store does not have") in result.stdout

    with live.app() as app:
        people = users_by_role()
        with pytest.raises(Conflict, match="Kho tài liệu cũ hơn cơ sở dữ liệu"):
            publishing.approve(people["approver"], "QT-01", waiting, password=PASSWORD,
                               effective_date=today() + timedelta(days=1))
        db.session.rollback()
        client = app.test_client()
        login(client, "staff")
        download = client.get(f"/documents/QT-01/revisions/{lost}/download")
        assert download.status_code == 409
        assert "docctl verify" in download.get_data(as_text=True)


def test_a_lost_take_effect_is_replayed(live, databases, tmp_path):
    with live.app() as app:
        number = awaiting_approval("QT-01", "phiên bản hai")
        people = users_by_role()
        publishing.approve(people["approver"], "QT-01", number, password=PASSWORD,
                           effective_date=today() + timedelta(days=2))
        backup.create(tmp_path / "backup")            # the database knows the approval only
        later = datetime.now(UTC) + timedelta(days=3)
        app.config["DOCCTL_CLOCK"] = lambda: later
        assert publishing.take_effect_due() == 1
    mixed = _old_database_into(live, tmp_path / "backup", databases)
    sha = git(mixed.data / "repo_store", "rev-parse", "HEAD").strip()

    result = mixed.cli("verify", check=False)
    assert result.returncode == 1
    assert f"git commit {sha[:12]} records supersede of QT-01 r{number}" in result.stdout
    repaired = mixed.cli("verify", "--repair", check=False)
    assert repaired.returncode == 0, repaired.stdout + repaired.stderr
    assert "1 commit(s) replayed" in repaired.stdout
    with mixed.app():
        document = db.session.scalar(select(Document).where(Document.code == "QT-01"))
        assert {r.number: r.status for r in document.revisions} == {
            1: Status.SUPERSEDED, number: Status.EFFECTIVE}
