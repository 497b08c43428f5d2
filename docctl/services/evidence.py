"""Evidence packages: every revision's file and stamped copy, a manifest, and how to check them."""

import hashlib
import json
import re
import tempfile
import zipfile
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import IO

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from docctl import office
from docctl.domain.permissions import Perm
from docctl.errors import DocctlError, IntegrityFailure
from docctl.extensions import db
from docctl.models import Document, Revision, Signature, User
from docctl.office.words import action_text, meaning_text, roles_text, status_text
from docctl.services import audit, auditlog, copies, organisation, signatures
from docctl.services.context import now, store, zone
from docctl.services.documents import document_dir, get_document, require, revision_bytes
from docctl.services.evidence_readme import README
from docctl.store import layout

ZIP_MIME = "application/zip"
_SEAL = {True: "Hợp lệ / Verifies", False: "KHÔNG hợp lệ / DOES NOT verify"}
_FILE_KIND = {"original": "bản gốc / original", "stamped": "bản có dấu / stamped copy"}
# The Word manifest is for reading: past this many entries, manifest.json and the CSV hold them.
DOCX_ENTRY_LIMIT = 1000
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


@dataclass
class Package:
    """A built evidence zip in a temporary file, positioned at its start."""

    file: IO[bytes]
    filename: str
    size: int
    sha256: str


def _ascii(name: str) -> str:
    return _UNSAFE.sub("_", name) or "_"


def _iso(value) -> str | None:
    return value.isoformat() if value else None


def _local(value: datetime | None) -> str:
    return value.astimezone(zone()).strftime("%d/%m/%Y %H:%M:%S") if value else ""


def _day(value: str | None) -> str:
    """Return an ISO date from the manifest as dd/mm/yyyy."""
    return date.fromisoformat(value).strftime("%d/%m/%Y") if value else ""


_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _details(text: str | None) -> str:
    """Return an entry's details as "key: value" lines, with dates as dd/mm/yyyy."""
    try:
        details = json.loads(text or "{}")
    except ValueError:
        return text or ""   # a tampered row still shows what it holds
    if not isinstance(details, dict):
        return str(details)

    def value(item) -> str:
        if isinstance(item, str) and _ISO_DATE.match(item):
            return _day(item)
        if isinstance(item, str) and _ISO_DATE.match(item[:10]) and "T" in item:
            try:
                return _local(datetime.fromisoformat(item))
            except ValueError:
                return item
        if isinstance(item, dict):
            return "{" + ", ".join(f"{k}: {value(v)}" for k, v in sorted(item.items())) + "}"
        if isinstance(item, list):
            return "[" + ", ".join(value(v) for v in item) + "]"
        return "—" if item is None else str(item)

    return "; ".join(f"{key}: {value(item)}" for key, item in sorted(details.items()))


def _person(name: str, username: str, roles: str) -> str:
    """Return who someone is as printed: name, account and translated roles (each once)."""
    return f"{name} — tài khoản / account {username} — {roles_text(roles)}"


def document_package(actor: User, code: str) -> Package:
    """Build the evidence package of one document and record its download."""
    require(actor, Perm.AUDIT)
    document = get_document(actor, code)
    rows = list(auditlog.iter_entries(auditlog.Filters(document=document.code)))
    package = _build(actor, {"document": document.code}, [(document, document.revisions)], rows,
                     f"evidence_{_ascii(document.slug)}")
    _record(actor, package, {"document": document.code}, document)
    return package


def register_package(actor: User, date_from: date | None = None,
                     date_to: date | None = None) -> Package:
    """Build the evidence package of the whole register (or of a date range)."""
    require(actor, Perm.AUDIT)
    start = datetime.combine(date_from, time.min, tzinfo=zone()).astimezone(UTC) \
        if date_from else None
    end = datetime.combine(date_to + timedelta(days=1), time.min, tzinfo=zone()).astimezone(
        UTC) if date_to else None
    revisions = selectinload(Document.revisions)
    documents = db.session.scalars(select(Document).order_by(Document.code).options(
        revisions.selectinload(Revision.reviews),
        revisions.selectinload(Revision.signatures).joinedload(Signature.user),
        revisions.joinedload(Revision.author), revisions.joinedload(Revision.approver))).all()
    chosen = [(d, [r for r in d.revisions if _in_range(r, start, end)]) for d in documents]
    chosen = [(d, revs) for d, revs in chosen if revs]
    scope = {"register": True, "from": _iso(date_from), "to": _iso(date_to)}
    rows = list(auditlog.iter_entries(auditlog.Filters(date_from=date_from, date_to=date_to)))
    stamp = "_".join(d.isoformat() for d in (date_from, date_to) if d) or "all"
    package = _build(actor, scope, chosen, rows, f"evidence_register_{stamp}")
    _record(actor, package, scope, None)
    return package


def _in_range(revision: Revision, start: datetime | None, end: datetime | None) -> bool:
    """Tell whether a revision was worked on, or in force, within [start, end)."""
    moments = [revision.created_at, revision.submitted_at, revision.approved_at,
               revision.effective_at, revision.ended_at]
    if any(m and (start is None or m >= start) and (end is None or m < end) for m in moments):
        return True
    began, ended = revision.effective_at, revision.ended_at
    return bool(began and (end is None or began < end)
                and (ended is None or start is None or ended >= start))


def _record(actor: User, package: Package, scope: dict, document: Document | None) -> None:
    audit.record_reading("evidence_downloaded", actor, object_type="evidence",
                         document=document, details={"scope": scope, "filename": package.filename,
                                                     "size": package.size,
                                                     "sha256": package.sha256})


class _Writer:
    """Add files to the zip and remember each one's SHA-256 for SHA256SUMS."""

    def __init__(self, archive: zipfile.ZipFile, when: datetime):
        self.archive = archive
        self.when = when.astimezone(zone()).timetuple()[:6]
        self.sums: list[tuple[str, str]] = []

    def put(self, name: str, data: bytes) -> str:
        info = zipfile.ZipInfo(name, date_time=self.when)
        info.compress_type = zipfile.ZIP_DEFLATED
        info.external_attr = 0o644 << 16
        self.archive.writestr(info, data)
        digest = hashlib.sha256(data).hexdigest()
        self.sums.append((digest, name))
        return digest


def _build(actor: User, scope: dict, chosen: list, rows: list, stem: str) -> Package:
    at = now()
    head = store().head()
    manifest = {"generated_at": at.isoformat(), "scope": scope, "store_head": head,
                "generated_by": {"username": actor.username, "name": actor.display_name,
                                 "role": actor.role},
                "documents": [], "audit_entries": [auditlog.raw_entry(r) for r in rows]}
    alerts: list[Revision] = []
    # The caller streams the file to the client, which closes it; a failure closes it here.
    handle = tempfile.TemporaryFile()  # noqa: SIM115
    try:
        _write(handle, actor, scope, chosen, rows, manifest, at, alerts)
    except BaseException:
        handle.close()
        raise
    for revision in alerts:   # a refused file is an incident, as on any download
        audit.record("integrity_alert", actor, document=revision.document, revision=revision,
                     details={"expected_sha256": revision.sha256, "during": "evidence"})
    size = handle.seek(0, 2)
    handle.seek(0)
    digest = hashlib.sha256()
    for block in iter(lambda: handle.read(1 << 20), b""):
        digest.update(block)
    handle.seek(0)
    stamp = at.astimezone(zone()).strftime("%Y%m%d-%H%M")
    return Package(handle, f"{stem}_{stamp}.zip", size, digest.hexdigest())


def _write(handle, actor: User, scope: dict, chosen: list, rows: list, manifest: dict,
           at: datetime, alerts: list) -> None:
    head = manifest["store_head"]
    with zipfile.ZipFile(handle, "w", zipfile.ZIP_DEFLATED) as archive:
        writer = _Writer(archive, at)
        for document, revisions in chosen:
            facts = {"code": document.code, "title": document.title, "type": document.doc_type,
                     "status": document.status, "department": document.department.code,
                     "folder": _ascii(document.slug), "revisions": []}
            for revision in revisions:
                facts["revisions"].append(_revision(actor, writer, document, revision, alerts))
            manifest["documents"].append(facts)
        manifest_json = json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True)
        writer.put("manifest.json", manifest_json.encode())
        writer.put("audit-entries.csv", auditlog.csv_bytes(rows)[0])
        writer.put("manifest.docx", office.build_manifest_docx(
            f"Gói hồ sơ bằng chứng / Evidence package — {_scope_text(scope)}",
            _docx_blocks(manifest, rows)))
        writer.put("README.txt", README.format(
            scope=_scope_text(scope), generated=f"{_local(at)} ({zone().key})", head=head,
            who=_person(actor.display_name, actor.username, actor.role)).encode())
        sums = "".join(f"{digest}  {name}\n" for digest, name in sorted(
            writer.sums, key=lambda item: item[1]))
        archive.writestr(zipfile.ZipInfo("SHA256SUMS", date_time=writer.when), sums)


def _scope_text(scope: dict) -> str:
    if "document" in scope:
        return scope["document"]
    span = " – ".join(_day(x) for x in (scope.get("from"), scope.get("to")) if x)
    return f"Sổ đăng ký tài liệu / Register {span}".strip()


def _revision(actor: User, writer: _Writer, document: Document, revision: Revision,
              alerts: list) -> dict:
    label = organisation.label(revision.issue, revision.amendment)
    # Folders by internal sequence: unique and path-safe whatever the label format.
    folder = f"{_ascii(document.slug)}/r{revision.number:02d}"
    facts = {"number": revision.number, "issue": revision.issue,
             "amendment": revision.amendment, "label": label, "status": revision.status,
             "reason": revision.reason, "filename": revision.filename, "size": revision.size,
             "sha256": revision.sha256, "commit": revision.commit_sha, "tag": revision.tag,
             "git_path": f"{document_dir(document)}/{layout.source_name(revision.media)}"
             if revision.commit_sha else None,
             "author": revision.author.username,
             "approver": revision.approver.username if revision.approver else None,
             "created_at": _iso(revision.created_at), "submitted_at": _iso(revision.submitted_at),
             "approved_at": _iso(revision.approved_at),
             "effective_date": _iso(revision.effective_date),
             "effective_at": _iso(revision.effective_at), "ended_at": _iso(revision.ended_at),
             "ended_reason": revision.ended_reason, "superseded_by": revision.superseded_by,
             "signatures": [{"id": s.id, "meaning": s.meaning, "signer": s.signer_name,
                             "username": s.user.username, "signed_at": s.signed_at.isoformat(),
                             "content_sha256": s.content_sha256, "method": s.method,
                             "seal_verifies": signatures.verifies(s)}
                            for s in revision.signatures],
             "reviews": [{"reviewer_id": r.reviewer_id, "round": r.round,
                          "decision": r.decision, "comment": r.comment,
                          "decided_at": _iso(r.decided_at)} for r in revision.reviews],
             "files": {}, "problem": None}
    try:
        original = revision_bytes(revision)
    except IntegrityFailure:
        alerts.append(revision)
        facts["problem"] = "the stored file does not match its recorded SHA-256; not included"
        return facts
    except DocctlError:
        facts["problem"] = "the file of this revision is missing; not included"
        return facts
    ext = revision.media or "docx"
    name = f"{folder}/original/{_ascii(document.slug)}_r{label}.{ext}"
    facts["files"]["original"] = {"path": name, "sha256": writer.put(name, original)}
    kind = copies.stamp_kind(revision)
    try:
        stamped = copies.stamp_bytes(original, ext, copies.stamp_info(actor, revision, kind))
    except DocctlError as exc:
        facts["problem"] = f"no stamped copy could be made: {exc.message}"
        return facts
    name = f"{folder}/stamped/{_ascii(document.slug)}_r{label}{copies.SUFFIX[kind]}.{ext}"
    facts["files"]["stamped"] = {"path": name, "stamp": kind, "sha256": writer.put(name, stamped)}
    return facts


def _docx_blocks(manifest: dict, rows: list) -> list:
    """Return the manifest's facts as paragraphs and tables for the Word copy."""
    by = manifest["generated_by"]
    blocks: list = [
        f"Lập lúc / Generated: {_local(datetime.fromisoformat(manifest['generated_at']))} "
        f"({zone().key}) — {_person(by['name'], by['username'], by['role'])}",
        f"Kho git / Git store HEAD: {manifest['store_head']}",
        "Cách kiểm tra / How to check: README.txt",
    ]
    revisions = [["Mã hiệu / Code", "Lần / Rev", "Trạng thái / Status",
                  "Ngày hiệu lực / Effective", "SHA-256", "Commit", "Tag", "Lý do / Reason"]]
    signed = [["Mã hiệu / Code", "Lần / Rev", "Ý nghĩa / Meaning", "Người ký / Signer",
               "Thời điểm / Signed at", "SHA-256", "Niêm phong / Seal"]]
    files = [["Tệp / File", "SHA-256"]]
    for document in manifest["documents"]:
        for rev in document["revisions"]:
            revisions.append([document["code"], rev["label"], status_text(rev["status"]),
                              _day(rev["effective_date"]), rev["sha256"], rev["commit"] or "",
                              rev["tag"] or "", rev["reason"] or ""])
            for s in rev["signatures"]:
                signed.append([document["code"], rev["label"], meaning_text(s["meaning"])[0],
                               f"{s['signer']} — tài khoản / account {s['username']}",
                               _local(datetime.fromisoformat(s["signed_at"])),
                               s["content_sha256"], _SEAL[bool(s["seal_verifies"])]])
            for kind, item in rev["files"].items():
                files.append([f"{item['path']} ({_FILE_KIND.get(kind, kind)})", item["sha256"]])
    shown = [r for r in rows if r.action not in ("viewed", "timeline_viewed")]
    entries = [["#", "Thời điểm / At", "Người / Actor", "Vai trò / Role", "Hành động / Action",
                "Mã hiệu / Code", "Lần / Rev", "Lý do / Reason", "Chi tiết / Details"]]
    for row in shown[:DOCX_ENTRY_LIMIT]:
        entries.append([str(row.seq), _local(row.at), row.actor_name,
                        roles_text(row.actor_role) if row.actor_role else "",
                        action_text(row.action), row.document_code or "",
                        "" if row.revision_number is None else str(row.revision_number),
                        row.reason or "", _details(row.details)])
    more = max(len(shown) - DOCX_ENTRY_LIMIT, 0)
    blocks += [("Các lần ban hành / Revisions", revisions), ("Chữ ký / Signatures", signed),
               ("Tệp trong gói / Files", files), ("Nhật ký / Audit entries", entries),
               f"Tổng cộng {len(rows)} mục nhật ký; {len(rows) - len(shown)} lượt xem trang "
               f"chỉ được đếm; {more} mục còn lại có trong manifest.json và audit-entries.csv. / "
               f"{len(rows)} audit entries in total; {len(rows) - len(shown)} page views are "
               f"counted only; {more} more entries are in manifest.json and audit-entries.csv."]
    return blocks
