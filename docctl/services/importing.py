"""Import an existing documented system: a dry run for every row and file, then the import."""

from __future__ import annotations

import json
import logging
import posixpath
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from docctl import dbengine
from docctl.domain import numbering
from docctl.domain.lifecycle import Status
from docctl.domain.permissions import Perm
from docctl.domain.textfold import code_key
from docctl.errors import DocctlError
from docctl.extensions import db
from docctl.models import Department, Document, DraftFile, ImportRun, Revision, User
from docctl.office import sheets
from docctl.office.printed import read_printed
from docctl.services import (
    audit,
    documents,
    importlock,
    masterlist,
    printed_facts,
    publishing,
    uploads,
)
from docctl.services import printed as printed_check
from docctl.services.context import now, today
from docctl.services.documents import require
from docctl.services.importsource import Source

log = logging.getLogger(__name__)

# What the secretary may import: registering documents is the controller's (secretary's)
# work, and register_document asks for the same permission.
IMPORT_PERM = Perm.REGISTER


@dataclass
class Row:
    """One line of the dry run or the report: a list row, or a file no row names."""

    row: int | None
    file: str | None
    code: str | None
    action: str                       # import | skip | error
    issue: int | None = None
    amendment: int | None = None
    effective_date: date | None = None
    messages: list[str] = field(default_factory=list)
    entry: masterlist.Entry | None = None
    upload: uploads.Upload | None = None
    printed: str | None = None        # the revision's `printed` JSON text
    existing_id: int | None = None    # a document an interrupted import left unpublished

    @property
    def message(self) -> str:
        """Return the row's messages as one line."""
        return "; ".join(str(m) for m in self.messages)

    def as_json(self) -> dict:
        """Return the row as `docctl import --json` prints it."""
        return {"row": self.row, "file": self.file, "code": self.code, "action": self.action,
                "issue": self.issue, "amendment": self.amendment,
                "effective_date": self.effective_date.isoformat()
                if self.effective_date else None, "message": self.message}


@dataclass
class Plan:
    """The dry run: what each row and file will become."""

    source: str
    list_name: str | None
    rows: list[Row]

    @property
    def ok(self) -> bool:
        """Tell whether every row is (or would be) imported or skipped."""
        return all(r.action != "error" for r in self.rows)

    def to_import(self) -> list[Row]:
        """Return the rows to import, parents before their children."""
        rows = [r for r in self.rows if r.action == "import"]
        by_key = {r.entry.key: r for r in rows}

        def depth(row: Row, seen: int = 0) -> int:
            parent = by_key.get(code_key(row.entry.parent)) if row.entry.parent else None
            return 0 if parent is None or seen > 20 else 1 + depth(parent, seen + 1)

        return sorted(rows, key=lambda r: (depth(r), r.row))

    def counts(self) -> dict:
        """Return how many rows each action has."""
        found = {"import": 0, "skip": 0, "error": 0}
        for row in self.rows:
            found[row.action] += 1
        return found


def _find_list(source: Source) -> tuple[str, bytes]:
    candidates = sorted(p for p in source.files if sheets.is_list_name(p))
    top = [p for p in candidates if "/" not in p] or candidates
    lists = [p for p in top if _looks_like_list(p, source.files[p])]
    if not lists:
        raise masterlist.ListError(_l("No master list found: put one .xlsx or .csv file "
                                      "naming its columns (Mã hiệu, Tên tài liệu, Tên tệp …) "
                                      "at the top of the folder"))
    if len(lists) > 1:
        raise masterlist.ListError(_l("Several master lists found (%(names)s): keep one",
                                      names=", ".join(lists)))
    return lists[0], source.files[lists[0]]


def _looks_like_list(name: str, data: bytes) -> bool:
    try:
        sheet = sheets.read_sheet(name, data)
    except DocctlError:
        return name.lower().endswith(".csv")   # an unreadable CSV is still meant as the list
    for values in sheet.rows[:50]:
        named = {masterlist.column_of(v) for v in values}
        if len(named & set(masterlist.REQUIRED)) >= 2:
            return True
    return False


def _department_names() -> list[tuple[str, str, str | None]]:
    return [tuple(r) for r in db.session.execute(
        select(Department.code, Department.name, Department.name_en))]


def dry_run(actor: User | None, source: Source) -> Plan:
    """Return what importing the source would do to every row and file; change nothing.

    actor None: the server's operator at the command line (no user to check).
    """
    if actor is not None:
        require(actor, IMPORT_PERM)
    try:
        list_name, data = _find_list(source)
        listed = masterlist.read_list(list_name, data, departments=_department_names(),
                                      today=today())
    except masterlist.ListError as exc:
        return Plan(source.name, None, [Row(None, None, None, "error", messages=[exc.message])])
    rows = [_row(entry) for entry in listed.entries]
    if listed.notes and rows:
        rows[0].messages[:0] = listed.notes
    files = {p: d for p, d in source.files.items() if p != list_name}
    used = _match_files(rows, files)
    _check_parents(rows)
    for row in rows:
        if row.action == "import":
            _check_file(row, files[row.file])
    for path in sorted(set(files) - used):
        rows.append(Row(None, path, None, "skip", messages=[
            _l("File with no row in the master list: not imported")]))
    return Plan(source.name, list_name, rows)


def _row(entry: masterlist.Entry) -> Row:
    row = Row(entry.row, entry.file or None, entry.code or None,
              "error" if entry.errors else "import", issue=entry.issue,
              amendment=entry.amendment if entry.issue else None,
              effective_date=entry.effective_date, entry=entry)
    row.messages = [*entry.errors, *entry.notes]
    return row


def _match_files(rows: list[Row], files: dict[str, bytes]) -> set[str]:
    by_path = {p.casefold(): p for p in files}
    by_name: dict[str, list[str]] = {}
    for path in files:
        by_name.setdefault(posixpath.basename(path).casefold(), []).append(path)
    used = set()
    for row in rows:
        if not row.file:
            continue
        wanted = row.file.replace("\\", "/").strip("/").casefold()
        found = by_path.get(wanted)
        if found is None:
            named = by_name.get(posixpath.basename(wanted), [])
            if len(named) > 1:
                row.messages.append(_l("Several files are named %(file)s: give its folder "
                                       "too", file=row.file))
                row.action = "error"
                used.update(named)
                continue
            found = named[0] if named else None
        if found is None:
            row.messages.append(_l("No file %(file)s in the folder", file=row.file))
            row.action = "error"
            continue
        used.add(found)
        row.file = found
    return used


def _check_parents(rows: list[Row]) -> None:
    listed = {r.entry.key: r for r in rows if r.entry and r.entry.code}
    for row in rows:
        entry = row.entry
        if row.action == "error" or not entry.parent:
            continue
        parent_row = listed.get(code_key(entry.parent))
        parent_type = parent_row.entry.doc_type if parent_row else None
        if parent_row is None:
            known = db.session.scalar(select(Document).where(
                Document.code_key == code_key(entry.parent)))
            if known is None:
                row.messages.append(_l("Unknown parent %(code)s: it is neither in the list "
                                       "nor in docctl", code=entry.parent))
                row.action = "error"
                continue
            parent_type = known.doc_type
        if not numbering.parent_allowed(entry.doc_type, parent_type):
            row.messages.append(_l("A %(type)s cannot belong to %(code)s",
                                   type=entry.doc_type, code=entry.parent))
            row.action = "error"
    # A child waits for its parent: an error on the parent stops the child too.
    changed = True
    while changed:
        changed = False
        for row in rows:
            entry = row.entry
            parent_row = listed.get(code_key(entry.parent)) if entry and entry.parent else None
            if row.action == "import" and parent_row is not None and \
                    parent_row.action == "error":
                row.messages.append(_l("Its parent (row %(row)s) cannot be imported",
                                       row=parent_row.row))
                row.action = "error"
                changed = True


def _check_file(row: Row, data: bytes) -> None:
    entry = row.entry
    try:
        upload = uploads.read_upload(entry.doc_type, posixpath.basename(row.file), data)
    except DocctlError as exc:
        row.messages.append(_l("The file cannot be imported: %(why)s", why=exc.message))
        row.action = "error"
        return
    row.upload = upload
    row.messages.extend(upload.notices)
    found = read_printed(upload.media, upload.data, upload.text)
    warnings = printed_check.check(found, code=entry.code, issue=entry.issue,
                                   amendment=entry.amendment,
                                   effective_date=entry.effective_date)
    # Stored as an upload stores it: what the file prints, the warnings and the notices.
    row.printed = printed_facts.stored_json(found, warnings, upload.notices)
    row.messages.extend(warnings)
    _check_existing(row, data)


def _check_existing(row: Row, data: bytes) -> None:
    document = db.session.scalar(select(Document).where(Document.code_key == row.entry.key))
    if document is None:
        return
    current = documents.effective_revision(document)
    if current is not None and current.import_run_id is not None and (
            current.sha256 == row.upload.sha256 or _same_original(current, data)):
        row.action = "skip"
        row.messages.append(_l("Already imported (same content)"))
        return
    if document.status == "new" and document.doc_type == row.entry.doc_type and all(
            r.status == Status.DRAFT and r.import_run_id is not None
            for r in document.revisions):
        row.existing_id = document.id   # an interrupted import: this run finishes it
        row.messages.append(_l("Registered by an interrupted import: this import finishes it"))
        return
    row.action = "error"
    row.messages.append(_l("Code %(code)s is already used in docctl by “%(title)s”: change "
                           "it there through a new revision", code=document.code,
                           title=document.title))


def _same_original(revision: Revision, data: bytes) -> bool:
    original = documents.original_bytes(revision) if revision.original_name else None
    return original is not None and original == data


def begin(actor: User, source_name: str) -> ImportRun:
    """Record a new import run (its progress record) and audit its start."""
    require(actor, IMPORT_PERM)
    run = ImportRun(actor_id=actor.id, source_name=source_name[:300], state="running",
                    started_at=now())
    db.session.add(run)
    db.session.flush()
    audit.record("import_started", actor, object_type="import", object_id=str(run.id),
                 details={"source": source_name[:300]})
    # Keep the row readable without a new transaction: the caller hands its id to a thread
    # that writes next, and must not hold SQLite's write lock meanwhile.
    dbengine.end_keeping_objects(db.session())
    return run


def carry_out(actor: User, run_id: int, source: Source,
              progress: Callable[[int, int], None] | None = None,
              lock_fd: int | None = None) -> Plan:
    """Import every importable row, parents first, one unit of work per document.

    Stops at the first document that fails: the ones before it are complete, it and the
    rest are untouched (or left registered for the next run to finish), and the report
    says which. lock_fd: the run's lock, when the caller took it already.
    """
    fd = lock_fd if lock_fd is not None else importlock.hold_run(run_id)
    try:
        return _carry_out(actor, run_id, source, progress)
    finally:
        importlock.release_run(run_id, fd)


def _carry_out(actor: User, run_id: int, source: Source,
               progress: Callable[[int, int], None] | None) -> Plan:
    publishing.recover()   # settle what an earlier, killed import left half done
    plan = dry_run(actor, source)
    todo = plan.to_import()
    run = db.session.get(ImportRun, run_id)
    run.total, run.done = len(todo), 0
    db.session.commit()
    if progress:
        progress(0, len(todo))
    failed_at = None
    for row in todo:
        if failed_at is not None:
            row.action = "error"
            row.messages.append(_l("Not imported: the import stopped at row %(row)s",
                                   row=failed_at))
            continue
        try:
            _import_one(actor, row, run_id)
            row.messages.insert(0, _l("Imported"))
        except Exception as exc:   # any failure: stop here, report it, keep what is done
            db.session.rollback()
            log.exception("import of row %s failed", row.row)
            why = exc.message if isinstance(exc, DocctlError) else _("unexpected error")
            row.action, failed_at = "error", row.row
            row.messages.insert(0, _l("Import failed: %(why)s", why=why))
            continue
        run = db.session.get(ImportRun, run_id)
        run.done += 1
        db.session.commit()   # progress, in its own short transaction
        if progress:
            progress(run.done, run.total)
    _finish(actor, run_id, plan)
    return plan


def _import_one(actor: User, row: Row, run_id: int) -> None:
    entry, upload = row.entry, row.upload
    if row.existing_id is not None:
        document = db.session.get(Document, row.existing_id)
        publishing.settle_pending(document_id=document.id)
    else:
        parent = None
        if entry.parent:
            parent = db.session.scalar(select(Document.code).where(
                Document.code_key == code_key(entry.parent)))
        data = {"type": entry.doc_type, "title": entry.title, "department": entry.department,
                "parent": parent, "code": entry.code}
        if entry.source:
            data["external_source"] = entry.source
        document = documents.register_document(actor, data)
    revision = next((r for r in document.revisions if r.status == Status.DRAFT), None)
    if revision is None:
        revision = Revision(document=document, number=len(document.revisions) + 1,
                            status=Status.DRAFT, author_id=actor.id, created_at=now())
        db.session.add(revision)
    revision.issue, revision.amendment = entry.issue, entry.amendment
    revision.filename, revision.size, revision.sha256 = upload.filename, upload.size, \
        upload.sha256
    revision.text, revision.media = upload.text, upload.media
    revision.original_name = upload.original_name
    revision.effective_date = entry.effective_date
    revision.origin_approver, revision.origin_approved_on = entry.approver, entry.approved_on
    revision.import_run_id = run_id
    revision.printed = row.printed or "{}"
    revision.reason = ""
    db.session.flush()
    draft = db.session.get(DraftFile, revision.id)
    if draft is None:
        db.session.add(DraftFile(revision_id=revision.id, content=upload.data,
                                 original=upload.original))
    else:
        draft.content, draft.original = upload.data, upload.original
    db.session.commit()
    publishing.publish_imported(actor, revision, run_id=run_id)


def _finish(actor: User, run_id: int, plan: Plan) -> None:
    run = db.session.get(ImportRun, run_id)
    counts = plan.counts()
    run.state = "done" if plan.ok else "failed"
    run.report = json.dumps([r.as_json() for r in plan.rows], ensure_ascii=False)
    run.finished_at = now()
    audit.record("import_finished", actor, object_type="import", object_id=str(run_id),
                 details={"imported": run.done, **counts, "state": run.state})
    db.session.commit()
