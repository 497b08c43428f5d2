"""Paths and ref names inside the git store; every user-derived part passes an allowlist."""

from __future__ import annotations

import re
from pathlib import Path

from docctl.errors import ValidationError

SEGMENT_RE = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
_SEGMENT = re.compile(SEGMENT_RE)
_SHA = re.compile(r"^[0-9a-f]{40}$")

DOCUMENTS = "documents"
RECORDS = "records"
# One folder per decision that issues a set: decision.json, the generated .docx, the scan.
RELEASES = "releases"
# One folder per signed disposition list (records destroyed): disposition.json.
DISPOSITIONS = "dispositions"
# A record's folder: what it is (record.json) and its content, sealed (store/sealing.py).
RECORD_JSON = "record.json"
SEALED = "content.sealed"
DOCUMENT_JSON = "document.json"
REVISION_JSON = "revision.json"
SOURCE = "source.docx"
CONTENT = "content.txt"
# Stored formats and the git name of each; a converted .doc keeps its bytes as ORIGINAL_DOC.
MEDIA = ("docx", "pdf", "xlsx")
ORIGINAL_DOC = "original.doc"


def source_name(media: str) -> str:
    """Return the git file name of a revision's source in this format."""
    if media not in MEDIA:
        raise ValidationError("unknown media", value=repr(media)[:20])
    return f"source.{media}"


def is_segment(value: object) -> bool:
    """Tell whether value is one safe path / ref component."""
    return (
        isinstance(value, str)
        # fullmatch, because "$" would accept a trailing newline
        and _SEGMENT.fullmatch(value) is not None
        and ".." not in value
        and not value.endswith(".lock")
        and not value.endswith(".")
    )


def check_segment(value: object, what: str = "path component") -> str:
    """Return value if it is one safe component, else raise ValidationError."""
    if not is_segment(value):
        raise ValidationError(f"invalid {what}", value=repr(value)[:80])
    return value  # type: ignore[return-value]


def check_path(path: object, what: str = "path") -> str:
    """Return a relative store path made only of safe components, else raise ValidationError."""
    if not is_path(path):
        raise ValidationError(f"invalid {what}", value=repr(path)[:80])
    return path  # type: ignore[return-value]


def is_path(path: object) -> bool:
    """Tell whether path is a relative store path made only of safe components."""
    return (isinstance(path, str) and 0 < len(path) <= 512
            and all(is_segment(part) for part in path.split("/")))


def check_tag(name: object) -> str:
    """Return a tag name of safe components joined by "/", else raise ValidationError."""
    return check_path(name, "tag name")


def check_sha(sha: object) -> str:
    """Return a full lowercase hex commit id, else raise ValidationError."""
    if not isinstance(sha, str) or _SHA.fullmatch(sha) is None:
        raise ValidationError("invalid commit id", value=repr(sha)[:80])
    return sha


def document_dir(type_prefix: str, slug: str) -> str:
    """Return the folder of one document, e.g. "documents/QT/QT-01"."""
    return f"{DOCUMENTS}/{check_segment(type_prefix, 'type prefix')}/{check_segment(slug, 'slug')}"


def record_dir(year: int, slug: str) -> str:
    """Return the folder of one record, e.g. "records/2026/0001/HS-2026-000123".

    Records are bucketed by a hundred (the number's digits // 100) so no tree grows to
    thousands of entries: a filing rewrites a few small trees, not a year's list of them.
    """
    if type(year) is not int or not 1000 <= year <= 9999:
        raise ValidationError("invalid year", value=repr(year)[:80])
    check_segment(slug, "slug")
    digits = re.search(r"(\d+)$", slug)
    bucket = f"{int(digits.group(1)) // 100:04d}" if digits else "0000"
    return f"{RECORDS}/{year}/{bucket}/{slug}"


def revision_tag(slug: str, number: int) -> str:
    """Return the tag name of a published revision, e.g. "QT-01/r3"."""
    if type(number) is not int or not 1 <= number <= 999_999:
        raise ValidationError("invalid revision number", value=repr(number)[:80])
    return check_tag(f"{check_segment(slug, 'slug')}/r{number}")


def read_ref(git_dir: Path, name: str, depth: int = 0) -> str | None:
    """Resolve a ref (loose file, else packed-refs) to a sha without starting a git process."""
    try:
        value = (git_dir / name).read_text().strip()
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        value = _packed_ref(git_dir, name)
    if value and value.startswith("ref: ") and depth < 5:
        return read_ref(git_dir, value[5:], depth + 1)
    return value if value and _SHA.fullmatch(value) else None


def _packed_ref(git_dir: Path, name: str) -> str | None:
    try:
        data = (git_dir / "packed-refs").read_bytes()
    except FileNotFoundError:
        return None
    # One line is "<sha> <name>"; find it with a byte search instead of parsing 10k lines.
    at = data.find(f" {name}\n".encode())
    if at < 40 or (at > 40 and data[at - 41:at - 40] != b"\n"):
        return None
    return data[at - 40:at].decode("ascii", "replace")


def release_dir(slug: str) -> str:
    """Return the folder of a release (a set issued by a decision): "releases/4500-QD-UBND"."""
    return f"{RELEASES}/{check_segment(slug, 'release slug')}"


def release_tag(slug: str) -> str:
    """Return the tag of a release's issuing commit, e.g. "release/4500-QD-UBND"."""
    return f"release/{check_segment(slug, 'release slug')}"


def disposition_dir(slug: str) -> str:
    """Return the folder of a signed disposition list: "dispositions/DL-2026-001"."""
    return f"{DISPOSITIONS}/{check_segment(slug, 'disposition slug')}"
