"""The git store adapter: the only place docctl talks to git."""

from docctl.store.gitstore import CommitInfo, GitStore, Person
from docctl.store.layout import (
    CONTENT,
    DOCUMENT_JSON,
    REVISION_JSON,
    SEGMENT_RE,
    SOURCE,
    document_dir,
    record_dir,
    revision_tag,
)
from docctl.store.locking import StoreLock
from docctl.store.trailers import format_message, parse_trailers

__all__ = [
    "CONTENT",
    "DOCUMENT_JSON",
    "REVISION_JSON",
    "SEGMENT_RE",
    "SOURCE",
    "CommitInfo",
    "GitStore",
    "Person",
    "StoreLock",
    "document_dir",
    "format_message",
    "parse_trailers",
    "record_dir",
    "revision_tag",
]
