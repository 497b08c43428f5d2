"""Issue 11's world: 2,000 documents whose history is ~10,000 git commits, built once, cached.

Procedures with their forms (BM-xxx-nn under QT-xxx), instructions and external documents;
each document has 1–9 revisions effective at dates spread over 2016–2026, the earlier ones
superseded, ~1 in 20 documents withdrawn, ~1 in 50 with a revision approved for a day in
2027. Every revision is a real commit (document.json, revision.json, source.docx) with its
tag, written by git fast-import in date order, and a catalog row in the database, so "as of D"
has real work to do and a change on top of it commits to a real store of that size.

The world is built into a cache folder once (keyed by this file and docctl/models.py, so a
schema change builds it again) and copied for each run: a run never changes the cache.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from time import perf_counter

from sqlalchemy import insert

from bench import gitfill, world
from docctl.domain.numbering import PREFIX, DocType
from docctl.domain.textfold import code_key
from docctl.extensions import db
from docctl.models import Document, Revision
from docctl.store import layout

ROOT = Path(__file__).resolve().parent.parent
PROCEDURES = 500          # QT-001…QT-500, 1–3 forms each (1,000 forms)
INSTRUCTIONS = 300
EXTERNALS = 199
FIRST_DAY = date(2016, 1, 4)
LAST_DAY = date(2026, 11, 30)
FUTURE_DAY = date(2027, 1, 4)
WITHDRAW_EVERY = 20
FUTURE_EVERY = 50


def cache_root() -> Path:
    """Return where built worlds are kept (BENCH_CACHE, else the temp folder)."""
    return Path(os.environ.get("BENCH_CACHE") or Path(tempfile.gettempdir())
                / "docctl-bench-cache")


def _key(extra: str = "") -> str:
    digest = hashlib.sha256()
    for path in (Path(__file__), ROOT / "docctl" / "models.py"):
        digest.update(path.read_bytes())
    digest.update(extra.encode())
    return digest.hexdigest()[:12]


def plan() -> list[dict]:
    """Return the documents of the world, each with its type, code, parent and revision count."""
    docs: list[dict] = []
    for p in range(1, PROCEDURES + 1):
        docs.append({"code": f"QT-{p:03d}", "type": DocType.PROCEDURE, "parent": None,
                     "noun": "Quy trình"})
        for f in range(1, 2 + p % 3):
            docs.append({"code": f"BM-{p:03d}-{f:02d}", "type": DocType.FORM,
                         "parent": f"QT-{p:03d}", "noun": "Biểu mẫu"})
    docs += [{"code": f"HD-{i:03d}", "type": DocType.INSTRUCTION, "parent": None,
              "noun": "Hướng dẫn"} for i in range(1, INSTRUCTIONS + 1)]
    docs += [{"code": f"TLBN-{i:03d}", "type": DocType.EXTERNAL, "parent": None,
              "noun": "Tài liệu bên ngoài"} for i in range(1, EXTERNALS + 1)]
    for i, doc in enumerate(docs, start=1):
        doc["id"] = i
        doc["revisions"] = 1 + (i * 37) % 9            # 1..9, five on average
        doc["withdrawn"] = i % WITHDRAW_EVERY == 3 and doc["type"] != DocType.PROCEDURE
        doc["future"] = (i % FUTURE_EVERY == 11 and not doc["withdrawn"]
                         and doc["revisions"] >= 2)
        # Each document starts somewhere in the first four years, then revises until 2026.
        start = FIRST_DAY + timedelta(days=(i * 131) % 1460)
        gap = (LAST_DAY - start).days // (doc["revisions"] + 1)
        doc["days"] = [start + timedelta(days=k * gap) for k in range(doc["revisions"])]
        if doc["future"]:
            doc["days"][-1] = FUTURE_DAY + timedelta(days=i % 60)
        doc["withdrawn_day"] = doc["days"][-1] + timedelta(days=gap // 2) \
            if doc["withdrawn"] else None
    return docs


def _at(day: date, seq: int) -> datetime:
    # 09:00 in Hà Nội (02:00 UTC), a second apart so commits keep one order.
    return datetime.combine(day, time(2, 0), tzinfo=UTC) + timedelta(seconds=seq % 3600)


def _events(docs: list[dict]) -> list[tuple]:
    """Return (when, kind, doc, number) of every commit, oldest first."""
    events = []
    for doc in docs:
        for number, day in enumerate(doc["days"], start=1):
            # An approval for a future day is committed when signed, in late 2026.
            signed = LAST_DAY if day > LAST_DAY else day
            events.append((_at(signed, doc["id"] * 10 + number), "publish", doc, number))
        if doc["withdrawn_day"]:
            events.append((_at(doc["withdrawn_day"], doc["id"] * 10 + 9), "withdraw", doc,
                           doc["revisions"]))
    return sorted(events, key=lambda e: (e[0], e[2]["id"], e[3]))


def _source(code: str, number: int) -> bytes:
    # Approve never reopens an older revision's bytes: a small unique blob stands in.
    return f"PK-bench {code} r{number}\n".encode() * 16


_BODY = (" Quy trình này quy định trình tự tiếp nhận, xem xét, giải quyết hồ sơ và trả kết quả "
         "cho tổ chức, cá nhân theo cơ chế một cửa; trách nhiệm của các phòng, đơn vị thuộc Sở "
         "và thời hạn giải quyết theo quy định hiện hành.") * 24   # ~6 KB, as a short procedure


def _text(code: str, number: int) -> str:
    # The catalog keeps each revision's text (search, redlines): as-of must not drag it along.
    return f"{code} lần ban hành {number:02d}.{_BODY}"


def _status(doc: dict, number: int) -> str:
    last = number == doc["revisions"]
    if doc["future"]:
        return "approved" if last else "effective" if number == doc["revisions"] - 1 \
            else "superseded"
    if last:
        return "obsolete" if doc["withdrawn"] else "effective"
    return "superseded"


def _stream(head: str, events: list[tuple]) -> bytes:
    """Return the fast-import stream of every event: one commit (and tag) each."""
    parts: list[bytes] = []
    for mark, (when, kind, doc, number) in enumerate(events, start=1):
        code = doc["code"]
        folder = layout.document_dir(PREFIX[doc["type"]], code)
        status = "obsolete" if kind == "withdraw" else _status(doc, number)
        facts = {"code": code, "title": f"{doc['noun']} {code}", "type": str(doc["type"]),
                 "department": {"code": "VP", "name": "Văn phòng Sở"},
                 "parent": doc["parent"], "review_months": 12,
                 "status": status if status == "obsolete" else "effective",
                 "current_revision": None if status == "obsolete" else number}
        revision = {"number": number, "status": status,
                    "effective_date": doc["days"][number - 1].isoformat()}
        action = "withdraw" if kind == "withdraw" else "publish"
        message = (f"{code} r{number}: {action}\n\nDocctl-Document: {code}\n"
                   f"Docctl-Revision: {number}\nDocctl-Action: {action}\n").encode()
        stamp = b"%d +0000" % int(when.timestamp())
        parts += [b"commit refs/heads/main\nmark :%d\n" % mark,
                  b"author Bench <approver@docctl.invalid> " + stamp + b"\n",
                  b"committer " + gitfill.COMMITTER + b" " + stamp + b"\n",
                  b"data %d\n%s\n" % (len(message), message)]
        if mark == 1:
            parts.append(b"from " + head.encode() + b"\n")
        files = {layout.DOCUMENT_JSON: json.dumps(facts, ensure_ascii=False).encode(),
                 layout.REVISION_JSON: json.dumps(revision).encode()}
        if kind == "publish":
            files[layout.SOURCE] = _source(code, number)
        for name, data in files.items():
            parts += [f"M 100644 inline {folder}/{name}\n".encode(),
                      b"data %d\n%s\n" % (len(data), data)]
        if kind == "publish":
            parts += [f"tag {layout.revision_tag(code, number)}\nfrom :{mark}\n".encode(),
                      b"tagger " + gitfill.COMMITTER + b" " + stamp + b"\n", b"data 5\nbench\n"]
    return b"".join(parts) + b"done\n"


def _rows(people, docs: list[dict], shas: dict[tuple[str, int], str]) -> tuple[list, list]:
    author, approver = people["secretary"].id, people["approver"].id
    created = datetime(2015, 12, 1, tzinfo=UTC)
    doc_rows, rev_rows = [], []
    by_code = {d["code"]: d for d in docs}
    for doc in docs:
        withdrawn_at = _at(doc["withdrawn_day"], doc["id"] * 10 + 9) \
            if doc["withdrawn_day"] else None
        in_force = [d for d in doc["days"] if d <= LAST_DAY]
        doc_rows.append({
            "id": doc["id"], "code": doc["code"], "code_key": code_key(doc["code"]),
            "slug": doc["code"], "doc_type": str(doc["type"]),
            "title": f"{doc['noun']} {doc['code']} về kiểm soát chất lượng dịch vụ công",
            "department_id": 1 + doc["id"] % len(world.DEPARTMENTS),
            "parent_id": by_code[doc["parent"]]["id"] if doc["parent"] else None,
            "review_months": 12, "status": "obsolete" if withdrawn_at else "effective",
            "external_source": "Chính phủ" if doc["type"] == DocType.EXTERNAL else None,
            "created_by_id": author, "created_at": created, "withdrawn_at": withdrawn_at,
            "withdrawn_reason": "Bãi bỏ" if withdrawn_at else None,
            "next_review_date": None if withdrawn_at else in_force[-1] + timedelta(days=365),
            "version": 1})
        for number, day in enumerate(doc["days"], start=1):
            status = _status(doc, number)
            signed = _at(min(day, LAST_DAY), doc["id"] * 10 + number)
            data = _source(doc["code"], number)
            following = doc["days"][number] if number < doc["revisions"] else None
            superseded = status == "superseded"
            ended = (_at(following, doc["id"] * 10 + number + 1) if superseded
                     else withdrawn_at if status == "obsolete" else None)
            rev_rows.append({
                "document_id": doc["id"], "number": number, "issue": number, "amendment": 0,
                "status": status, "reason": "" if number == 1 else f"Sửa đổi lần {number - 1}",
                "filename": f"{doc['code']}.docx", "size": len(data),
                "sha256": hashlib.sha256(data).hexdigest(),
                "text": _text(doc["code"], number), "author_id": author,
                "created_at": signed, "submitted_at": signed, "approver_id": approver,
                "review_round": 1, "approved_at": signed, "effective_date": day,
                "effective_at": None if status == "approved" else _at(day, doc["id"] * 10
                                                                      + number),
                "ended_at": ended, "ended_reason": "Bãi bỏ" if status == "obsolete" else None,
                "superseded_by": number + 1 if superseded else None,
                "commit_sha": shas[(doc["code"], number)],
                "tag": layout.revision_tag(doc["code"], number)})
    return doc_rows, rev_rows


def build(data_dir: Path) -> dict:
    """Build the world into data_dir; return its counts."""
    app = world.build_app(data_dir)
    store = app.extensions["docctl.store"]
    with app.app_context():
        people = world.create_schema_and_people()
        docs = plan()
        events = _events(docs)
        marks = Path(tempfile.mkstemp(prefix="marks-")[1])
        gitfill.git(store.path, "-c", "core.fsync=none", "fast-import", "--quiet", "--done",
                    f"--export-marks={marks}", stdin=_stream(store.head(), events))
        by_mark = dict(line.lstrip(":").split() for line in marks.read_text().splitlines())
        marks.unlink()
        gitfill.git(store.path, "read-tree", "--reset", "-u", "refs/heads/main")
        shas = {(doc["code"], number): by_mark[str(mark)]
                for mark, (_w, kind, doc, number) in enumerate(events, start=1)
                if kind == "publish"}
        doc_rows, rev_rows = _rows(people, docs, shas)
        db.session.execute(insert(Document), doc_rows)
        for start in range(0, len(rev_rows), 5_000):
            db.session.execute(insert(Revision), rev_rows[start:start + 5_000])
        db.session.commit()
        commits = int(gitfill.git(store.path, "rev-list", "--count", "HEAD").strip())
        counts = {"documents": len(doc_rows), "revisions": len(rev_rows), "commits": commits,
                  "withdrawn": sum(1 for d in docs if d["withdrawn"]),
                  "future": sum(1 for d in docs if d["future"])}
        db.session.remove()
        db.engine.dispose()
    store.close()
    return counts


def cached(name: str, builder, *, extra: str = "") -> tuple[Path, dict, float]:
    """Return (cached data folder, its counts, build seconds or 0 when found in the cache).

    builder(data_dir) builds the world into data_dir and returns its counts.
    """
    folder = cache_root() / f"{name}-{_key(extra)}"
    info = folder / "world.json"
    if info.is_file():
        return folder / "data", json.loads(info.read_text()), 0.0
    building = folder.with_name(folder.name + f".building-{os.getpid()}")
    shutil.rmtree(building, ignore_errors=True)
    building.mkdir(parents=True)
    t0 = perf_counter()
    counts = builder(building / "data")
    (building / "world.json").write_text(json.dumps(counts) + "\n")
    shutil.rmtree(folder, ignore_errors=True)
    building.rename(folder)
    return folder / "data", counts, perf_counter() - t0


def copy_of(cached_data: Path, into: Path) -> Path:
    """Return a fresh copy of a cached world's data folder under into."""
    target = into / "data"
    shutil.copytree(cached_data, target, symlinks=True)
    return target


def history_world() -> tuple[Path, dict, float]:
    """Return the cached 2,000-document world (building it the first time)."""
    return cached("history", build)
