"""Helpers shared by the tests: real users, real .docx files, real sign-in."""

import re
import uuid
from datetime import date

from docctl import office
from docctl.extensions import db as _db
from docctl.models import User
from docctl.services import documents, indexing, publishing, reviews

PASSWORD = "correct horse battery staple"


_HASH_CACHE: dict[str, str] = {}


def password_hash(password: str = PASSWORD) -> str:
    """Hash once per session: argon2 is slow on purpose."""
    if password not in _HASH_CACHE:
        from docctl.services.users import hash_password
        _HASH_CACHE[password] = hash_password(password)
    return _HASH_CACHE[password]


def make_user(username: str, role: str, name: str | None = None) -> User:
    """Create a user directly (the create_user service is tested on its own)."""
    user = User(username=username, display_name=name or f"Người dùng {username}", role=role,
                password_hash=password_hash(), active=True,
                session_token=uuid.uuid4().hex, department_id=1)
    _db.session.add(user)
    _db.session.commit()
    return user


def docx_bytes(text: str = "Nội dung quy trình kiểm soát tài liệu", code: str = "QT-01") -> bytes:
    """Return a small real .docx with text."""
    return office.build_docx("Quy trình kiểm soát tài liệu", [text, "Phạm vi áp dụng."],
                             code=code, header=f"{code} header",
                             table=[["Bước", "Nội dung"], ["1", text]])


def publish(users, code: str, *, text: str = "nội dung", reason: str = "",
            effective: date | None = None, change: str = "reissue") -> int:
    """Drive one revision from upload to approval; return its number."""
    # A later revision says what it changes; the first ignores it (issue 01, amendment 00).
    rev = documents.upload_revision(users["controller"], code, filename=f"{code}.docx",
                                    data=docx_bytes(text, code), reason=reason, change=change)
    reviews.submit(users["controller"], code, rev.number, reviewers=["reviewer"],
                   approver="approver")
    reviews.review(users["reviewer"], code, rev.number, decision="accept", comment="ok")
    from docctl.services.context import today
    publishing.approve(users["approver"], code, rev.number, password=PASSWORD,
                       effective_date=effective or today())
    # The scheduler applies index jobs outside the request; tests search at once, so apply
    # them here (through the module, so a test can stub it to keep jobs queued).
    indexing.catch_up(rebuild=False)
    return rev.number


_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_token(client) -> str:
    """Return a CSRF token valid for the client's session."""
    page = client.get("/login").get_data(as_text=True)
    match = _CSRF.search(page)
    if match is None:   # signed in: /login redirects, use a page with a form
        page = client.get("/account/password").get_data(as_text=True)
        match = _CSRF.search(page)
    assert match, "no CSRF token found in the page"
    return match.group(1)


def login(client, username: str, password: str = PASSWORD):
    """Sign in through the real form."""
    token = csrf_token(client)
    response = client.post("/login", data={"username": username, "password": password,
                                           "csrf_token": token})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return response
