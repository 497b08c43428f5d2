"""Twelve people file records at once on a real `docctl serve`: every one filed, no 500s."""

import http.client
import json
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from sqlalchemy import select

from docctl import dbengine
from docctl.models_records import Record
from docctl.services import records, verify
from tests.helpers import PASSWORD, docx_bytes, make_user
from tests.services.test_records import world as world  # noqa: F401 (fixture)

PEOPLE = 12


def multipart(fields: dict, name: str, data: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n{value}\r\n'
             .encode() for key, value in fields.items()]
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
                 f'filename="{name}"\r\nContent-Type: application/octet-stream\r\n\r\n'
                 .encode() + data + b"\r\n")
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), boundary


def send(port: int, method: str, path: str, token: str, body: bytes = b"",
         boundary: str | None = None) -> tuple[int, bytes]:
    headers = {"Authorization": f"Bearer {token}"}
    if boundary:
        headers["Content-Type"] = f"multipart/form-data; boundary={boundary}"
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        conn.request(method, path, body=body or None, headers=headers)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def test_twelve_people_file_and_read_records_at_once(app, db, users, world, tmp_path):
    from docctl.services import users as user_service
    from tests.services._live import LiveServer

    world.moment = datetime.now(UTC)   # the server keeps the real clock: tokens issued now
    people = [make_user(f"motcua{n:02d}", "staff") for n in range(PEOPLE)]
    tokens = [user_service.issue_token(p.username, PASSWORD) for p in people]
    db.session.commit()   # the server needs SQLite's write lock: touch no row after this

    def file_one(n: int) -> tuple[int, dict]:
        body, boundary = multipart({"form": "BM-05-a", "date": "2026-03-09",
                                    "reference": f"{n:04d}/TN"}, f"bien-nhan-{n}.docx",
                                   docx_bytes(f"Biên nhận hồ sơ số {n:04d}", "BM-05-a"))
        status, raw = send(server.port, "POST", "/api/v1/records", tokens[n % PEOPLE], body,
                           boundary)
        return status, json.loads(raw)

    with LiveServer(app, tmp_path / "server.log") as server, dbengine.reading():
        with ThreadPoolExecutor(PEOPLE) as pool:
            filed = list(pool.map(file_one, range(3 * PEOPLE)))
        assert [status for status, _ in filed] == [201] * (3 * PEOPLE), \
            [body for status, body in filed if status != 201]
        numbers = {body["number"] for _, body in filed}
        assert len(numbers) == 3 * PEOPLE
        with ThreadPoolExecutor(PEOPLE) as pool:
            read = list(pool.map(lambda item: send(
                server.port, "GET", f"/api/v1/records/{item[1][1]['id']}/file",
                tokens[item[0] % PEOPLE]), enumerate(filed)))
        assert [status for status, _ in read] == [200] * (3 * PEOPLE)
        log = server.log()
        assert " 500 " not in log and "Traceback" not in log
    db.session.rollback()
    rows = db.session.scalars(select(Record).order_by(Record.id)).all()
    assert len(rows) == 3 * PEOPLE and {r.status for r in rows} == {"filed"}
    for (n, (_status, body)), (_s, data) in zip(enumerate(filed), read, strict=True):
        assert data == docx_bytes(f"Biên nhận hồ sơ số {int(body['reference'][:4]):04d}",
                                  "BM-05-a")
    assert records.content(users["staff"], rows[0].id)[0]
    assert verify.run() == []
