"""Full-text search adapter: Vietnamese analysis shared by two interchangeable backends."""

from docctl.search.analysis import ParsedQuery, parse_query
from docctl.search.base import (
    INDEXED_STATUSES,
    Hit,
    IndexDoc,
    SearchBackend,
    SearchBusy,
    SearchResult,
    SearchUnavailable,
    Segment,
)
from docctl.search.location import IndexLocation, ReaderCache

BACKENDS = ("whoosh", "tantivy")

__all__ = ["BACKENDS", "INDEXED_STATUSES", "Hit", "IndexDoc", "IndexLocation", "ParsedQuery",
           "ReaderCache", "SearchBackend", "SearchBusy", "SearchResult", "SearchUnavailable",
           "Segment", "make_backend", "parse_query"]


def make_backend(name: str) -> SearchBackend:
    """Return an unopened backend by name ("whoosh" or "tantivy")."""
    if name == "tantivy":
        from docctl.search.tantivy_backend import TantivyBackend
        return TantivyBackend()
    if name == "whoosh":
        from docctl.search.whoosh_backend import WhooshBackend
        return WhooshBackend()
    raise ValueError(f"unknown search backend {name!r}; choose one of {BACKENDS}")
