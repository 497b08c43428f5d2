"""Controlled copies: stamped downloads in the stored format (Word, PDF, Excel; Word also as
PDF) and the controller's unstamped original."""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from flask import current_app
from flask_babel import lazy_gettext as _l

from docctl import office
from docctl.domain.formats import MIMETYPE, Media
from docctl.domain.lifecycle import CONTROLLED, NO_LONGER_CURRENT, Status
from docctl.domain.permissions import Perm
from docctl.errors import Forbidden, IntegrityFailure, NotFound, UnsupportedFile, ValidationError
from docctl.extensions import db
from docctl.models import Revision, User
from docctl.office import pdf, pdfstamp, xlsx
from docctl.office.stamp import HistoryLine, SignatureLine, fingerprint
from docctl.services import audit, organisation, signatures
from docctl.services.context import now, zone
from docctl.services.documents import get_revision, original_bytes, require, revision_bytes

DOCX_MIME = MIMETYPE[Media.DOCX]
PDF_MIME = MIMETYPE[Media.PDF]
XLSX_MIME = MIMETYPE[Media.XLSX]
DOC_MIME = "application/msword"
KINDS = ("auto", "original")
FORMATS = ("docx", "pdf", "xlsx")
# File-name suffixes: ASCII, so every browser and mail client keeps them intact.
SUFFIX = {"controlled": "", "obsolete": "_HET-HIEU-LUC", "pending": "_CHUA-HIEU-LUC",
          "draft": "_DU-THAO", "original": "_BAN-GOC", "original_doc": "_BAN-GOC-DOC"}
PDF_CACHE_KEEP = 500


@dataclass(frozen=True)
class Download:
    """Bytes to send, with the name and type the browser should see."""

    data: bytes
    filename: str
    mimetype: str


def stamp_kind(revision: Revision) -> str:
    """Return which stamp a revision's copy gets: controlled, obsolete, pending or draft."""
    if revision.status == Status.EFFECTIVE:
        return "controlled"
    if revision.status in (Status.SUPERSEDED, Status.OBSOLETE):
        return "obsolete"
    if revision.status == Status.APPROVED:
        return "pending"   # approved, waiting for its date: stamped "not yet in force"
    # Reviewers and the approver read what they sign; it must never pass for approved.
    return "draft"


def _local_date(moment: datetime | None) -> date | None:
    return moment.astimezone(zone()).date() if moment else None


def _successor(revision: Revision) -> Revision | None:
    """Return the revision that superseded this one, if any."""
    return next((r for r in revision.document.revisions
                 if r.number == revision.superseded_by), None)


def _ended_on(revision: Revision) -> date | None:
    """Return the day a revision stopped being in force."""
    successor = _successor(revision) if revision.superseded_by is not None else None
    if successor is not None and successor.effective_date is not None:
        return successor.effective_date
    return _local_date(revision.ended_at or revision.document.withdrawn_at)


def _approver_name(revision: Revision) -> str:
    signed = next((s for s in signatures.current(revision)
                   if s.meaning in signatures.APPROVING), None)
    if signed is not None:
        return signed.signer_name   # the name as signed, even if the account was renamed
    if revision.approver:
        return revision.approver.display_name
    # Imported: the approver named by the agency's own list, never presented as a signature.
    return revision.origin_approver or ""


def _successor_label(revision: Revision) -> str:
    successor = _successor(revision)
    return organisation.label(successor.issue, successor.amendment) if successor else ""


def stamp_info(user: User, revision: Revision, kind: str) -> office.StampInfo:
    """Return what the copy of a revision prints for this user, now."""
    document = revision.document
    signed = sorted(signatures.current(revision), key=lambda s: s.signed_at)
    # The history as the revision was issued: itself and the controlled revisions before it.
    history = [r for r in document.revisions
               if r.status in CONTROLLED and r.number <= revision.number]
    obsolete = kind == "obsolete"
    withdrawn = obsolete and revision.superseded_by is None
    return office.StampInfo(
        code=document.code, title=document.title, revision=revision.number,
        label=organisation.label(revision.issue, revision.amendment),
        organisation=organisation.name(),
        effective_date=revision.effective_date, status=revision.status,
        downloaded_by=f"{user.display_name} ({user.username})",
        downloaded_at=now().astimezone(zone()), kind=kind,
        superseded_by=revision.superseded_by if obsolete else None,
        superseded_label=_successor_label(revision) if obsolete else "",
        ended_on=_ended_on(revision) if obsolete else None,
        withdrawn_reason=(revision.ended_reason or document.withdrawn_reason or "")
        if withdrawn else None,
        signatures=tuple(SignatureLine(s.meaning, s.signer_name,
                                       s.signed_at.astimezone(zone())) for s in signed),
        history=tuple(HistoryLine(r.number, r.effective_date, r.reason, _approver_name(r),
                                  label=organisation.label(r.issue, r.amendment))
                      for r in history),
    )


def _checked_bytes(user: User, revision: Revision) -> bytes:
    """Return the approved bytes; on a hash mismatch record the incident and refuse."""
    try:
        return revision_bytes(revision)
    except IntegrityFailure:
        db.session.rollback()
        audit.record("integrity_alert", user, document=revision.document, revision=revision,
                     details={"expected_sha256": revision.sha256})
        db.session.commit()
        raise


def _filename(revision: Revision, kind: str, fmt: str) -> str:
    return f"{revision.document.slug}_r{revision.number:02d}{SUFFIX[kind]}.{fmt}"


def _record(user: User, revision: Revision, kind: str, filename: str, **extra) -> None:
    audit.record_reading("download", user, document=revision.document, revision=revision,
                         details={"kind": kind, "status": revision.status,
                                  "filename": filename, "sha256": revision.sha256, **extra})


def _format(revision: Revision, fmt: str | None) -> str:
    """Return the format to send: the stored one, or PDF made from a Word document."""
    media = revision.media or "docx"
    if not fmt or fmt == media:
        return media
    if fmt not in FORMATS:
        raise ValidationError(_l("Unknown file format"), field="fmt")
    if fmt == "docx":
        # Pages and the API ask for "docx" by default: for a PDF or a workbook that means
        # its own format (there is no Word copy of them).
        return media
    if fmt == "pdf" and media == "docx":
        return "pdf"
    raise UnsupportedFile(_l("This document is kept as %(kind)s; its copies are made in that "
                             "format only.", kind=KIND_NAMES[media]),
                          reason="format_unavailable", media=media, asked=fmt)


KIND_NAMES = {"docx": _l("a Word document (.docx)"), "pdf": _l("a PDF document (.pdf)"),
              "xlsx": _l("an Excel workbook (.xlsx)")}


def stamp_bytes(data: bytes, media: str, info: office.StampInfo) -> bytes:
    """Return a stamped copy of a revision's bytes in its own format."""
    if media == "pdf":
        return pdfstamp.stamp_pdf(data, info)
    if media == "xlsx":
        return xlsx.stamp_xlsx(data, info)
    return office.stamp_copy(data, info)


def controlled_copy(user: User, code: str, number: int, *, kind: str = "auto",
                    fmt: str | None = None) -> Download:
    """Return a stamped copy (auto) or the controller's unstamped original, and record it."""
    if kind not in KINDS:
        raise ValidationError(_l("Unknown kind of copy"), field="kind")
    if fmt and fmt not in FORMATS:
        raise ValidationError(_l("Unknown file format"), field="fmt")
    revision = get_revision(user, code, number)   # NotFound, never 403: no probing
    if kind == "original":
        return _original(user, revision, fmt)
    fmt = _format(revision, fmt)
    stamp = stamp_kind(revision)
    if fmt == "pdf" and revision.media == "docx" and not pdf.available(_soffice()):
        raise pdf.RenditionUnavailable(_l("PDF copies need LibreOffice, which is not "
                                          "installed on this server; download the Word "
                                          "copy instead"))
    info = stamp_info(user, revision, stamp)
    stamped = stamp_bytes(_checked_bytes(user, revision), revision.media or "docx", info)
    filename = _filename(revision, stamp, fmt)
    if fmt == (revision.media or "docx"):
        _record(user, revision, stamp, filename)
        return Download(stamped, filename, MIMETYPE[Media(fmt)])
    data = _rendition(revision, stamp, info, stamped)
    _record(user, revision, "pdf", filename, stamp=stamp)
    return Download(data, filename, PDF_MIME)


def _original(user: User, revision: Revision, fmt: str | None) -> Download:
    require(user, Perm.REGISTER)
    if revision.status != Status.EFFECTIVE:
        raise Forbidden(_l("Only the revision in force can be downloaded unstamped"))
    media = revision.media or "docx"
    if fmt and fmt != media and not (fmt == "docx" and media != "docx"):
        raise ValidationError(_l("The original is kept as %(kind)s", kind=KIND_NAMES[media]),
                              field="fmt")
    data = _checked_bytes(user, revision)
    filename = _filename(revision, "original", media)
    _record(user, revision, "original", filename)
    return Download(data, filename, MIMETYPE[Media(media)])


def legacy_original(user: User, code: str, number: int) -> Download:
    """Return the .doc a revision was converted from (controllers only), and record it."""
    revision = get_revision(user, code, number)   # NotFound, never 403: no probing
    require(user, Perm.REGISTER)
    if not revision.original_name:
        raise NotFound(_l("This revision was not converted from a .doc file"))
    # Drafts too: the secretary compares the conversion with the .doc before submitting it.
    # A revision no longer current is never handed out unstamped.
    if revision.status in NO_LONGER_CURRENT:
        raise Forbidden(_l("Only the revision in force can be downloaded unstamped"))
    data = original_bytes(revision)
    if data is None:
        raise NotFound(_l("The .doc file of this revision is missing"))
    filename = _filename(revision, "original_doc", "doc")
    _record(user, revision, "original_doc", filename,
            original_sha256=hashlib.sha256(data).hexdigest())
    return Download(data, filename, DOC_MIME)


# -- PDF renditions --

def pdf_available() -> bool:
    """Tell whether PDF copies can be made on this server."""
    return pdf.available(_soffice())


def offered_formats(revision: Revision) -> tuple[str, ...]:
    """Return the formats a revision's copy can be downloaded in, its own first."""
    media = revision.media or "docx"
    if media == "docx" and pdf_available():
        return ("docx", "pdf")
    return (media,)


def _soffice() -> str | None:
    return current_app.config.get("SOFFICE_PATH") or None


def _cache_dir() -> Path:
    return Path(current_app.config["INSTANCE_DIR"]) / "pdf-cache"


def rendition_key(revision: Revision, kind: str, info: office.StampInfo) -> str:
    """Return the cache key of a PDF copy: content, stamp kind and every stamped line."""
    # The who/when line is part of the stamp, so a PDF is per downloader and minute: the
    # cache saves repeated conversions (retries, double clicks), not one per revision.
    raw = f"{revision.sha256}|{kind}|{fingerprint(info)}"
    return hashlib.sha256(raw.encode()).hexdigest()


def _rendition(revision: Revision, kind: str, info: office.StampInfo, stamped: bytes) -> bytes:
    cache = _cache_dir()
    path = cache / f"{rendition_key(revision, kind, info)}.pdf"
    with contextlib.suppress(FileNotFoundError):
        return path.read_bytes()
    try:
        data = pdf.to_pdf(
            stamped, soffice=_soffice(),
            profile_dir=str(Path(current_app.config["INSTANCE_DIR"]) / "lo-profile"),
            timeout=float(current_app.config.get("PDF_TIMEOUT", pdf.DEFAULT_TIMEOUT)))
    except pdf.RenditionTimeout as exc:
        current_app.logger.warning("PDF rendition stopped: %s", exc.message)
        raise pdf.RenditionTimeout(_l("Making the PDF copy took too long and was stopped; "
                                      "try again later or download the Word copy")) from exc
    except pdf.RenditionBusy as exc:
        raise pdf.RenditionBusy(_l("Other PDF copies are being made; try again in a moment "
                                   "or download the Word copy")) from exc
    except pdf.RenditionFailed as exc:
        current_app.logger.warning("PDF rendition failed: %s %s", exc.message, exc.details)
        raise pdf.RenditionFailed(_l("The PDF copy could not be made; download the Word "
                                     "copy instead")) from exc
    cache.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=cache, suffix=".part")
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.replace(tmp, path)   # readers never see half a file
    _prune(cache)
    return data


def _prune(cache: Path, keep: int = PDF_CACHE_KEEP) -> None:
    """Drop the oldest cached PDFs beyond `keep` (they are cheap to make again)."""
    files = sorted(cache.glob("*.pdf"), key=_mtime)
    for old in files[:-keep] if len(files) > keep else []:
        with contextlib.suppress(FileNotFoundError):
            old.unlink()


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except FileNotFoundError:   # another process pruned it first
        return 0.0
