"""Fixtures of the search tests: both backends, at adapter level and through the services."""

import pytest

from docctl.domain.textfold import normalise_code
from docctl.search import BACKENDS, make_backend
from docctl.services import documents, indexing
from tests.helpers import publish


@pytest.fixture(params=BACKENDS)
def backend_name(request):
    return request.param


@pytest.fixture
def adapter(tmp_path, backend_name):
    """An empty index of each backend in a temporary directory."""
    path = tmp_path / "index"
    path.mkdir()
    backend = make_backend(backend_name)
    backend.open(str(path), create=True)
    yield backend
    backend.close()


@pytest.fixture
def search_app(app, backend_name):
    """The app, searching with each backend."""
    app.config["SEARCH_BACKEND"] = backend_name
    return app


@pytest.fixture
def library(search_app, users, monkeypatch):
    """Register and publish documents (through the services); return a publisher.

    With apply=False the publish leaves its index jobs queued (publishing applies them
    itself otherwise), to test the window before they are applied.
    """
    def add(code: str, title: str, text: str, *, doc_type: str = "procedure",
            department: str = "VP", apply: bool = True) -> str:
        code = normalise_code(code)
        with monkeypatch.context() as patch:
            if not apply:
                patch.setattr(indexing, "catch_up", lambda **kwargs: None)
            if not any(d.code == code for d, _r in documents.list_register(
                    users["auditor"], per_page=1000)[0]):
                documents.register_document(users["controller"], {
                    "type": doc_type, "title": title, "department": department,
                    "code": code})
                publish(users, code, text=text)
            else:
                publish(users, code, text=text, reason="Sửa đổi nội dung")
        if apply:
            indexing.apply_pending_jobs()
        return code
    return add

