"""Several secretaries at once against a real `docctl serve` (gunicorn, 2 workers).

Two secretaries upload drafts to different documents in parallel: every upload succeeds.
Two secretaries race for the same document: one draft is opened, the other is told who
holds it (409), never a 500 or a second open draft.
"""

import json
import threading

from sqlalchemy import func, select

from bench.server import multipart, request
from docctl import dbengine
from docctl.models import Revision
from docctl.services import documents
from docctl.services import users as user_service
from tests.helpers import PASSWORD, docx_bytes
from tests.services._live import LiveServer

ROUNDS = 4


def _register(users, code: str) -> None:
    documents.register_document(users["controller"], {
        "type": "procedure", "title": f"Quy trình {code}", "department": "VP", "code": code})


def _upload(port: int, token: str, code: str) -> tuple[int, dict]:
    body, content_type = multipart({"change": "reissue"}, f"{code}.docx",
                                   docx_bytes(f"nội dung {code}", code))
    status, _headers, raw = request(port, "POST", f"/api/v1/documents/{code}/revisions",
                                    body=body, headers={"Authorization": f"Bearer {token}",
                                                        "Content-Type": content_type},
                                    timeout=60)
    return status, json.loads(raw or b"{}")


def _together(port: int, calls: list[tuple[str, str]]) -> list[tuple[int, dict]]:
    """Send the uploads at the same moment, one thread each; return their answers in order."""
    start = threading.Barrier(len(calls))
    answers: list = [None] * len(calls)

    def run(i: int, token: str, code: str) -> None:
        start.wait()
        answers[i] = _upload(port, token, code)

    threads = [threading.Thread(target=run, args=(i, token, code))
               for i, (token, code) in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return answers


def test_two_secretaries_upload_to_different_documents_at_once(app, db, users, tmp_path):
    codes = [f"QT-{n:02d}" for n in range(1, 2 * ROUNDS + 3)]
    for code in codes:
        _register(users, code)
    first = user_service.issue_token("controller", PASSWORD)
    second = user_service.issue_token("controller2", PASSWORD)
    db.session.commit()
    with LiveServer(app, tmp_path / "server.log") as server, dbengine.reading():
        for n in range(ROUNDS):
            a, b = codes[2 * n], codes[2 * n + 1]
            answers = _together(server.port, [(first, a), (second, b)])
            assert [s for s, _body in answers] == [201, 201], (answers, server.log()[-3000:])
            assert [body["revision"] for _s, body in answers] == [1, 1]
        # The same document, both at once: one holds the draft, the other is told who.
        race = codes[-1]
        answers = sorted(_together(server.port, [(first, race), (second, race)]),
                         key=lambda answer: answer[0])
        assert [s for s, _body in answers] == [201, 409], answers
        holder = answers[0][1]["author"]
        named = users[holder].display_name
        assert named in answers[1][1]["message"], answers
    db.session.rollback()
    drafts = db.session.scalars(select(Revision.document_id).where(
        Revision.status == "draft")).all()
    assert len(drafts) == 2 * ROUNDS + 1 and len(set(drafts)) == len(drafts)
    assert db.session.scalar(select(func.count()).select_from(Revision)) == 2 * ROUNDS + 1
