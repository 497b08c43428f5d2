"""Uploads over HTTP: every corpus file gets its outcome; refusals store nothing (R26–R31)."""

import io
import os
import tempfile
from pathlib import Path

import pytest

from docctl.models import DraftFile, Revision
from docctl.services import documents
from tests.helpers import csrf_token

CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "corpus"
FILES = sorted(p.relative_to(CORPUS).as_posix() for p in CORPUS.rglob("*")
               if p.is_file() and p.suffix in (".docx", ".docm", ".dotx", ".doc"))


def _expected():
    from importlib import util
    spec = util.spec_from_file_location("corpus_table", Path(__file__).resolve().parents[1]
                                        / "office" / "test_corpus.py")
    module = util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.EXPECTED


@pytest.fixture
def secretary(users, departments, login_as):
    documents.register_document(users["controller"], {"type": "procedure", "title": "T",
                                                      "department": "VP"})
    return login_as("controller")


def upload(client, data: bytes, name: str = "file.docx"):
    return client.post("/documents/QT-01/upload",
                       data={"change": "reissue", "csrf_token": csrf_token(client), "reason": "",
                             "file": (io.BytesIO(data), name)},
                       content_type="multipart/form-data")


def test_every_corpus_file_over_http(secretary, db):
    expected = _expected()
    assert set(FILES) == set(expected), "corpus and its expectations differ"
    for name in FILES:
        # Names lie: every file goes up as .docx; only the content decides.
        response = upload(secretary, (CORPUS / name).read_bytes(), "renamed.docx")
        outcome = expected[name]
        if isinstance(outcome, str):
            assert response.status_code == 415, name
            assert "Traceback" not in response.get_data(as_text=True)
            assert 'role="alert"' in response.get_data(as_text=True), name
        else:
            assert response.status_code == 302, (name, response.status_code)
    # Accepted files replaced the one open draft; refused ones left no trace.
    assert db.session.query(Revision).count() == 1
    assert db.session.query(DraftFile).count() == 1


def test_body_over_the_limit_is_413_and_leaves_no_temp_file(secretary, app, db):
    app.config["MAX_CONTENT_LENGTH"] = 64 * 1024
    before = set(os.listdir(tempfile.gettempdir()))
    response = upload(secretary, b"PK\x03\x04" + b"\0" * (64 * 1024 + 1))
    assert response.status_code == 413
    assert db.session.query(Revision).count() == 0
    assert set(os.listdir(tempfile.gettempdir())) - before == set()


def test_docx_over_the_upload_limit_is_413(secretary, app, db):
    app.config["MAX_UPLOAD_MB"] = 0   # the service's own cap, below the request cap
    from tests.helpers import docx_bytes
    response = upload(secretary, docx_bytes())
    assert response.status_code == 413
    assert db.session.query(Revision).count() == 0


def test_no_file_is_400(secretary):
    response = secretary.post("/documents/QT-01/upload",
                              data={"change": "reissue", "csrf_token": csrf_token(secretary)})
    assert response.status_code == 400


def test_markup_in_comment_and_docx_body_is_inert(users, procedure, login_as):
    from docctl.services import reviews
    from tests.helpers import docx_bytes
    documents.upload_revision(users["controller"], "QT-01",
                              filename="<img src=x onerror=alert(1)>.docx",
                              data=docx_bytes("<script>alert(1)</script>"), reason="<b>x</b>",
                              change="reissue")
    reviews.submit(users["controller"], "QT-01", 2, reviewers=["reviewer"], approver="approver")
    reviews.review(users["reviewer"], "QT-01", 2, decision="reject",
                   comment="<img src=x onerror=alert(1)>")
    page = login_as("controller").get("/documents/QT-01/revisions/2").get_data(as_text=True)
    assert "<img src=x" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "<b>x</b>" not in page
