"""Pages: staff see exactly the forms in force with a procedure; the secretary chooses
keep / revise / abolish for a draft; the as-of page shows the forms in force that day."""

import re
from datetime import UTC, datetime

import pytest

from docctl.services import documents, forms, publishing
from tests.helpers import PASSWORD, csrf_token
from tests.services.test_forms import approve, build_world, draft, reviewed


@pytest.fixture
def world(clock, users):
    return build_world(clock, users)


def forms_section(page: str) -> str:
    match = re.search(r'<section class="panel" aria-labelledby="h-forms">(.*?)</section>', page,
                      re.S)
    assert match, "no forms section on the page"
    return match.group(1)


def test_staff_see_exactly_the_forms_in_force_with_the_procedure(login_as, world):
    page = login_as("staff").get("/documents/QT-01").get_data(as_text=True)
    section = forms_section(page)
    assert "BM-01-01" in section and "BM-01-02" in section
    assert "/documents/BM-01-01/revisions/1/download" in section
    assert "BM-01-03" not in page          # in force, under QT-01, but not listed by it
    assert "revisions/1/forms" not in page  # staff have no choosing to do


def test_the_secretary_chooses_keep_revise_or_abolish(login_as, world, users):
    bm = draft(users, "BM-01-01")
    qt = draft(users, "QT-01")
    secretary = login_as("controller")
    detail = secretary.get("/documents/QT-01").get_data(as_text=True)
    url = f"/documents/QT-01/revisions/{qt}/forms"
    assert url in detail
    page = secretary.get(url).get_data(as_text=True)
    ids = {code: documents.find_by_code(code).id for code in ("BM-01-01", "BM-01-02",
                                                              "BM-01-03")}
    assert f'name="form-{ids["BM-01-01"]}" value="revise"' in page
    assert f'name="form-{ids["BM-01-02"]}" value="keep" checked' in page
    assert 'name="csrf_token"' in page
    response = secretary.post(url, data={f"form-{ids['BM-01-01']}": "revise",
                                         f"form-{ids['BM-01-02']}": "abolish",
                                         f"form-{ids['BM-01-03']}": "abolish"})
    assert response.status_code == 400            # no CSRF token: refused, nothing saved
    revision = documents.find_by_code("QT-01").revisions[-1]
    assert [(f.code, n) for f, n, _l in forms.forms_of(revision)] == [("BM-01-01", 1),
                                                                      ("BM-01-02", 1)]
    response = secretary.post(url, data={f"form-{ids['BM-01-01']}": "revise",
                                         f"form-{ids['BM-01-02']}": "abolish",
                                         f"form-{ids['BM-01-03']}": "abolish",
                                         "csrf_token": csrf_token(secretary)})
    assert response.status_code == 302
    assert [(f.code, n) for f, n, _l in forms.forms_of(revision)] == [("BM-01-01", bm)]
    page = secretary.get(url).get_data(as_text=True)
    assert f'name="form-{ids["BM-01-01"]}" value="revise" checked' in page
    assert f'name="form-{ids["BM-01-02"]}" value="abolish" checked' in page


def test_a_controlled_revision_shows_its_forms_without_a_save_button(login_as, world):
    page = login_as("controller").get("/documents/QT-01/revisions/1/forms")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "disabled" in text and 'type="submit" class="btn btn-primary"' not in text
    assert login_as("staff").get("/documents/QT-01/revisions/1/forms").status_code == 403


def test_the_as_of_page_shows_the_forms_in_force_that_day(login_as, world, users):
    world.moment = datetime(2026, 2, 10, 3, 0, tzinfo=UTC)
    bm, qt = draft(users, "BM-01-01"), draft(users, "QT-01")
    forms.set_forms(users["controller"], "QT-01", qt, [{"code": "BM-01-01", "revision": bm}])
    reviewed(users, "BM-01-01", bm)
    approve(users, "BM-01-01", bm, world.today())
    reviewed(users, "QT-01", qt)
    # BM-01-02 is left out: withdraw it so the approval is not refused.
    publishing.withdraw(users["controller"], "BM-01-02", reason="Bãi bỏ", password=PASSWORD)
    approve(users, "QT-01", qt, world.today())
    auditor = login_as("auditor")
    then = forms_section(auditor.get("/documents/QT-01?as_of=2026-01-20").get_data(as_text=True))
    assert "20/01/2026" in then and "BM-01-02" in then
    assert "/documents/BM-01-01/revisions/1/download" in then
    now = forms_section(auditor.get("/documents/QT-01").get_data(as_text=True))
    assert "BM-01-02" not in now and "/documents/BM-01-01/revisions/2/download" in now
