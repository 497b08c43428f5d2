"""Hostile input through the services: codes, titles, filenames, passwords (R17, R31–R36)."""

import subprocess
import unicodedata
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from docctl.errors import Conflict, ValidationError
from docctl.models import User
from docctl.services import documents, verify
from docctl.services import users as users_svc
from tests.helpers import PASSWORD, docx_bytes, publish


def test_nfd_and_nfc_codes_collide(users, departments):
    documents.register_document(users["controller"], {"type": "procedure", "title": "A",
                                                      "department": "VP", "code": "QĐ-01"})
    with pytest.raises(Conflict):
        documents.register_document(users["controller"], {
            "type": "procedure", "title": "B", "department": "VP",
            "code": unicodedata.normalize("NFD", "qđ-01")})


def test_codes_folding_to_the_same_folder_collide(users, departments):
    documents.register_document(users["controller"], {"type": "procedure", "title": "A",
                                                      "department": "VP", "code": "QĐ-01"})
    with pytest.raises(Conflict):   # both would live in documents/QT/QD-01
        documents.register_document(users["controller"], {
            "type": "procedure", "title": "B", "department": "VP", "code": "QD-01"})


@pytest.mark.parametrize("code", ["../../etc", "QT/01", "-QT-01", "QT\u202e01", "QT 01",
                                  "a" * 41, "--upload-pack=x"])
def test_hostile_codes_are_refused(users, departments, code):
    with pytest.raises(ValidationError):
        documents.register_document(users["controller"], {
            "type": "procedure", "title": "T", "department": "VP", "code": code})


def test_nfd_title_is_stored_nfc(users, departments):
    doc = documents.register_document(users["controller"], {
        "type": "procedure", "department": "VP",
        "title": unicodedata.normalize("NFD", "Quy trình kiểm soát")})
    assert doc.title == "Quy trình kiểm soát"


@pytest.mark.parametrize("title", ["--upload-pack=touch /tmp/pwned", "--template=/tmp/x",
                                   "a\n[core]\n\thooksPath=/tmp", "x\nApproved-By: mallory"])
def test_git_option_like_titles_are_inert(app, users, departments, title):
    config_before = Path(app.config["REPO_STORE"], ".git", "config").read_text()
    documents.register_document(users["controller"], {"type": "procedure", "title": title,
                                                      "department": "VP"})
    publish(users, "QT-01")
    out = subprocess.run(["git", "-C", app.config["REPO_STORE"], "log", "-1",
                          "--format=%(trailers:key=Approved-By,valueonly)"],
                         capture_output=True, text=True, check=True).stdout
    assert out.strip() == "Người dùng approver <approver>"   # no smuggled trailer
    assert Path(app.config["REPO_STORE"], ".git", "config").read_text() == config_before
    assert not Path("/tmp/pwned").exists()
    assert verify.run() == []


@pytest.mark.parametrize("filename", ["../../x.docx", "..\\x.docx", "/etc/x.docx", "CON.docx",
                                      "a\0b.docx", "x" * 300 + ".docx", "\u202excod.docx",
                                      "Quy trình \"x\";\r\nSet-Cookie: a=b.docx"])
def test_user_filenames_are_metadata_only(app, users, departments, filename):
    documents.register_document(users["controller"], {"type": "procedure", "title": "T",
                                                      "department": "VP"})
    rev = documents.upload_revision(users["controller"], "QT-01", filename=filename,
                                    data=docx_bytes(), change="reissue")
    assert "\r" not in rev.filename and "\n" not in rev.filename and "\0" not in rev.filename
    assert len(rev.filename) <= 200
    data, _ = documents.download(users["controller"], "QT-01", 1)
    assert data == docx_bytes()
    # Nothing is written under a user-given name anywhere in the data directory.
    data_dir = Path(app.config["REPO_STORE"]).parent
    names = {p.name for p in data_dir.rglob("*")}
    assert not {"x.docx", "CON.docx"} & names
    assert not Path("/etc/x.docx").exists()


def test_usernames_are_never_reused(app, users):
    users_service = users
    with pytest.raises(Conflict):
        from docctl.services import users as svc
        svc.create_user(users_service["admin"], username="staff", display_name="Khác",
                        role="staff", password="another long passphrase")


def test_deactivated_username_still_cannot_be_reused(app, users, db):
    users["staff"].active = False
    db.session.commit()
    from docctl.services import users as svc
    with pytest.raises(Conflict):
        svc.create_user(users["admin"], username="STAFF", display_name="Khác", role="staff",
                        password="another long passphrase")


@pytest.mark.parametrize("password", ["123456789", "short", "password123"])
def test_weak_passwords_refused(app, users, password):
    from docctl.services import users as svc
    with pytest.raises(ValidationError):
        svc.create_user(users["admin"], username="newbie", display_name="Mới", role="staff",
                        password=password)


def test_long_passphrase_accepted_and_hashed_with_argon2id(app, users, db):
    from docctl.services import users as svc
    phrase = "tôi đi làm bằng xe buýt số mười tám mỗi sáng thứ hai!!"[:64].ljust(64, "x")
    user = svc.create_user(users["admin"], username="newbie", display_name="Mới", role="staff",
                           password=phrase)
    assert user.password_hash.startswith("$argon2id$")
    assert svc.authenticate("newbie", phrase).id == user.id


def test_old_hash_parameters_are_upgraded_on_login(app, users, db):
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)
    users["staff"].password_hash = weak.hash(PASSWORD)
    db.session.commit()
    from docctl.services import users as svc
    svc.authenticate("staff", PASSWORD)
    refreshed = db.session.get(User, users["staff"].id)
    assert "m=8192" not in refreshed.password_hash
    assert "m=19456,t=2,p=1" in refreshed.password_hash


def test_argon2_parameters_meet_owasp_minimum():
    from argon2 import extract_parameters
    params = extract_parameters(users_svc.hash_password("a long enough passphrase"))
    assert params.type.name == "ID"
    assert params.memory_cost >= 19 * 1024 and params.time_cost >= 2 and params.parallelism >= 1


def test_failed_login_is_audited_without_the_password(app, users, db):
    from docctl.errors import Forbidden
    from docctl.models import AuditEvent
    with pytest.raises(Forbidden):
        users_module().authenticate("staff", "the-wrong-secret-xyz")
    event = db.session.query(AuditEvent).filter_by(action="login_failed").one()
    assert "the-wrong-secret-xyz" not in (event.details + (event.reason or ""))


def users_module():
    return users_svc
