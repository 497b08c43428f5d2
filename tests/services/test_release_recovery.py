"""Crash at every step of a release: after a restart the whole set is in force, or none of it."""

import subprocess
from datetime import timedelta

import pytest

from docctl import faults
from docctl.models import Intent, Release
from docctl.services import documents, publishing, releases, verify
from tests.helpers import PASSWORD
from tests.services.test_releases import SIGNER, TITLE, reviewed

STEPS = ("publish.after_intent", "publish.before_ref_update", "publish.after_commit",
         "publish.after_db")
# Where each crash leaves the change once recovery has run.
OUTCOME = {"publish.after_intent": "abandoned", "publish.before_ref_update": "abandoned",
           "publish.after_commit": "finished", "publish.after_db": None}


ABOLISHED = "QT-03"


class Crash(BaseException):
    """Stands for the process dying (not an Exception: nothing may catch it)."""


def commits(app) -> int:
    return int(subprocess.run(["git", "-C", app.config["REPO_STORE"], "rev-list", "--count",
                               "HEAD"], capture_output=True, text=True, check=True).stdout)


def crash_at(monkeypatch, step: str) -> None:
    def point(name):
        if name == step:
            raise Crash(name)
    monkeypatch.setattr(faults, "point", point)


@pytest.fixture
def assembled(app, users):
    """Two procedures revised and one abolished by one decision, waiting for its signature."""
    items = []
    for n in range(1, 4):
        reviewed(users, f"QT-{n:02d}")
        publishing.approve(users["approver"], f"QT-{n:02d}", 1, password=PASSWORD,
                           effective_date=publishing.today())
    for n in range(1, 3):
        items.append({"code": f"QT-{n:02d}", "revision": reviewed(users, f"QT-{n:02d}")})
    items.append({"code": ABOLISHED, "action": "abolish"})
    return items


def _create(users, items, effective):
    return releases.create(users["controller"], title=TITLE, decision_number="4500/QĐ-UBND",
                           decision_date=publishing.today(), signer=SIGNER,
                           effective_date=effective, items=items)


def _all_or_nothing(users, db, *, in_force: bool, waiting: str = "awaiting_approval"):
    db.session.expire_all()
    auditor = users["auditor"]
    statuses = {documents.get_revision(auditor, f"QT-{n:02d}", 2).status for n in range(1, 3)}
    abolished = documents.get_document(auditor, ABOLISHED).status
    if in_force:
        assert statuses == {"effective"} and abolished == "obsolete"
    else:
        assert statuses == {waiting} and abolished == "effective"
    assert db.session.query(Intent).filter_by(state="pending").count() == 0
    assert verify.run() == []


@pytest.mark.parametrize("step", STEPS)
def test_crash_while_signing_a_release_in_force_at_once(app, users, assembled, db, monkeypatch,
                                                        step):
    release = _create(users, assembled, publishing.today())
    before = commits(app)
    crash_at(monkeypatch, step)
    with pytest.raises(Crash):
        releases.approve(users["approver"], release.id, password=PASSWORD)
    monkeypatch.undo()
    db.session.rollback()
    result = publishing.recover()   # what the scheduler does once the dead owner is gone
    outcome = OUTCOME[step]
    if outcome:
        assert result[outcome] == 1
    committed = commits(app) - before
    assert committed == (0 if outcome == "abandoned" else 1)
    _all_or_nothing(users, db, in_force=committed == 1)
    state = db.session.get(Release, release.id).status
    assert state == ("effective" if committed else "draft")
    # The approver's retry: signs it (if nothing was kept) or is told it is done.
    if committed:
        with pytest.raises(publishing.Conflict):
            releases.approve(users["approver"], release.id, password=PASSWORD)
    else:
        releases.approve(users["approver"], release.id, password=PASSWORD)
    assert commits(app) == before + 1
    _all_or_nothing(users, db, in_force=True)


@pytest.mark.parametrize("step", STEPS)
def test_crash_while_a_signed_release_takes_effect(app, users, assembled, db, monkeypatch,
                                                   clock, step):
    release = _create(users, assembled, publishing.today() + timedelta(days=3))
    releases.approve(users["approver"], release.id, password=PASSWORD)
    clock.advance(days=3)
    before = commits(app)
    crash_at(monkeypatch, step)
    with pytest.raises(Crash):
        publishing.take_effect_due()
    monkeypatch.undo()
    db.session.rollback()
    publishing.recover()
    committed = commits(app) - before
    assert committed == (0 if OUTCOME[step] == "abandoned" else 1)
    _all_or_nothing(users, db, in_force=committed == 1, waiting="approved")
    publishing.take_effect_due()   # the scheduler's next pass
    assert commits(app) == before + 1
    _all_or_nothing(users, db, in_force=True)
    assert db.session.get(Release, release.id).status == "effective"


def test_a_git_failure_while_signing_leaves_the_set_untouched(app, users, assembled, db,
                                                              monkeypatch):
    from docctl.errors import StoreError
    release = _create(users, assembled, publishing.today())
    store = app.extensions["docctl.store"]
    before = commits(app)
    monkeypatch.setattr(store, "write_change",
                        lambda *a, **k: (_ for _ in ()).throw(StoreError("disk full")))
    with pytest.raises(StoreError):
        releases.approve(users["approver"], release.id, password=PASSWORD)
    monkeypatch.undo()
    assert commits(app) == before
    assert db.session.query(Intent).filter_by(kind="release").one().state == "abandoned"
    _all_or_nothing(users, db, in_force=False)


def test_the_worker_dies_while_signing_and_the_running_server_recovers(app, users, assembled,
                                                                       db, tmp_path):
    """A real `docctl serve`: the worker signing the decision dies (os._exit) before its
    commit, then after it; the server's scheduler settles each, the approver's retry is
    answered, never with a 500, and the set is in force exactly once."""
    from docctl import dbengine
    from docctl.services import users as user_service
    from tests.services._live import LiveServer, wait_for

    release_id = _create(users, assembled, publishing.today()).id
    token = user_service.issue_token("approver", PASSWORD)
    url = f"/api/v1/releases/{release_id}/approve"
    before = commits(app)
    db.session.commit()   # the server needs SQLite's write lock: touch no row after this

    def pending():
        db.session.rollback()
        return db.session.query(Intent).filter_by(state="pending").count()

    with LiveServer(app, tmp_path / "server.log",
                    faults=("publish.after_intent", "publish.after_commit")) as server, \
            dbengine.reading():
        assert server.call("POST", url, token=token, data={"password": PASSWORD}) == (None, None)
        wait_for(lambda: pending() == 0)
        assert commits(app) == before   # died before its commit: abandoned
        assert server.call("POST", url, token=token, data={"password": PASSWORD}) == (None, None)
        wait_for(lambda: pending() == 0)
        assert commits(app) == before + 1   # died after its commit: finished by the scheduler
        status, body = server.call("POST", url, token=token, data={"password": PASSWORD})
        assert status == 409 and body["error"] == "conflict", body
        status, body = server.call("GET", f"/api/v1/releases/{release_id}", token=token)
        assert status == 200 and body["status"] == "effective"
        assert " 500 " not in server.log()
    db.session.rollback()
    _all_or_nothing(users, db, in_force=True)
