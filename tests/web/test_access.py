"""Every route × every role, deny by default, CSRF, headers, sessions (R20, R21, R25, R40–43)."""

import pytest

from docctl.services import documents, reviews
from tests.helpers import PASSWORD, csrf_token, docx_bytes, login


@pytest.fixture
def register(users, procedure):
    """QT-01 r1 effective, r2 in review routed to reviewer and approver."""
    documents.upload_revision(users["controller"], "QT-01", filename="b.docx",
                              data=docx_bytes("bản hai"), reason="Sửa đổi", change="reissue")
    reviews.submit(users["controller"], "QT-01", 2, reviewers=["reviewer"], approver="approver")
    return users


ALL = {"admin", "controller", "reviewer", "approver", "staff", "auditor"}


def only(*roles):
    return {role: (200 if role in roles else 403) for role in ALL}


MATRIX = {
    "/": {r: 200 for r in ALL},
    "/documents": {r: 200 for r in ALL},
    "/documents?type=form": {r: 200 for r in ALL},
    "/documents/QT-01": {r: 200 for r in ALL},
    "/documents/QT-01/revisions/1": {r: 200 for r in ALL},
    "/documents/QT-01/revisions/1/download": {r: 200 for r in ALL},
    "/documents/QT-01/revisions/2": {"admin": 200, "controller": 200, "reviewer": 200,
                                     "approver": 200, "staff": 404, "auditor": 200},
    "/documents/QT-01/revisions/2/download": {"admin": 200, "controller": 200, "reviewer": 200,
                                              "approver": 200, "staff": 404, "auditor": 200},
    "/documents/QT-01/revisions/9": {r: 404 for r in ALL},
    "/documents/NOPE-01": {r: 404 for r in ALL},
    "/documents/new": only("controller"),
    "/documents/QT-01/upload": only("controller"),
    "/documents/QT-01/revisions/2/submit": only("controller"),
    "/documents/QT-01/revisions/2/approve": only("approver"),
    "/documents/QT-01/withdraw": only("controller", "approver"),
    "/admin/users": only("admin"),
    "/admin/users/1": only("admin"),
    "/admin/users/new": only("admin"),
    "/account/password": {r: 200 for r in ALL},
}


@pytest.mark.parametrize("role", sorted(ALL))
def test_every_route_for_every_role(register, login_as, role):
    client = login_as(role)
    for url, expected in MATRIX.items():
        response = client.get(url)
        assert response.status_code == expected[role], (url, role, response.status_code)


def test_anonymous_is_sent_to_sign_in_everywhere(register, client, app):
    for url in MATRIX:
        response = client.get(url)
        assert response.status_code == 302 and "/login" in response.headers["Location"], url
    assert client.get("/api/v1/documents").status_code == 401


def test_every_view_declares_its_access(app):
    """R20: a view without a permission decorator fails this test."""
    missing = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        view = app.view_functions[rule.endpoint]
        if not hasattr(view, "_docctl_access"):
            missing.append(rule.rule)
    assert missing == []


def test_public_views_are_only_sign_in_language_and_token(app):
    public = sorted(rule.rule for rule in app.url_map.iter_rules()
                    if rule.endpoint != "static"
                    and getattr(app.view_functions[rule.endpoint], "_docctl_access",
                                None) == "public")
    assert public == ["/api/v1/auth/token", "/language", "/login", "/login/code"]


@pytest.mark.parametrize("path", ["/.git/HEAD", "/static/../repo_store/.git/config",
                                  "/repo_store/.git/config", "/instance/docctl.sqlite",
                                  "/static/", "/static/../config.py"])
def test_store_and_data_are_never_served(register, login_as, path):
    assert login_as("admin").get(path).status_code == 404


def test_post_without_csrf_token_is_refused(register, login_as):
    client = login_as("reviewer")
    response = client.post("/documents/QT-01/revisions/2/review",
                           data={"decision": "accept"})
    assert response.status_code == 400
    assert documents.get_revision(register["auditor"], "QT-01", 2).status == "in_review"


def test_post_with_foreign_token_is_refused(register, login_as, app):
    other = app.test_client()
    foreign = csrf_token(other)
    client = login_as("reviewer")
    response = client.post("/documents/QT-01/revisions/2/review",
                           data={"decision": "accept", "csrf_token": foreign})
    assert response.status_code == 400


def test_action_urls_refuse_get(register, login_as):
    client = login_as("reviewer")
    assert client.get("/documents/QT-01/revisions/2/review").status_code == 405
    assert client.get("/logout").status_code == 405


def test_security_headers_on_pages_files_and_errors(register, login_as):
    client = login_as("staff")
    for url in ("/documents", "/documents/QT-01/revisions/1/download", "/documents/NOPE"):
        headers = client.get(url).headers
        assert "default-src 'self'" in headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "same-origin"


def test_download_is_an_attachment_with_the_exact_type(register, login_as):
    response = login_as("staff").get("/documents/QT-01/revisions/1/download")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith(
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document")
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert response.data[:2] == b"PK"


def test_cookie_replayed_after_logout_is_dead(register, app):
    client = app.test_client()
    login(client, "staff")
    cookie = client.get_cookie("docctl")
    assert cookie is not None and cookie.http_only
    client.post("/logout", data={"csrf_token": csrf_token(client)})
    replay = app.test_client()
    replay.set_cookie("docctl", cookie.value)
    assert replay.get("/documents").status_code == 302


def test_deactivation_ends_sessions(register, app, login_as, db):
    client = login_as("staff")
    assert client.get("/documents").status_code == 200
    admin = login_as("admin")
    token = csrf_token(admin)
    response = admin.post(f"/admin/users/{register['staff'].id}",
                          data={"csrf_token": token, "role": "staff",
                                "display_name": "Người dùng staff"})   # active unchecked
    assert response.status_code == 302
    assert client.get("/documents").status_code == 302


def test_wrong_password_does_not_sign_in(register, client):
    token = csrf_token(client)
    response = client.post("/login", data={"username": "staff", "password": "wrong",
                                           "csrf_token": token})
    assert response.status_code == 401
    assert client.get("/documents").status_code == 302


def test_open_redirect_after_sign_in_is_refused(register, client):
    token = csrf_token(client)
    response = client.post("/login", data={"username": "staff", "password": PASSWORD,
                                           "csrf_token": token,
                                           "next": "//evil.example/x"})
    assert response.headers["Location"] == "/"
