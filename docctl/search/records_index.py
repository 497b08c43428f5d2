"""The records index (Whoosh): words of each record folded as Vietnamese search folds them.

Apart from the documents index: records have their own scope, visibility and life, and a
disposed record must leave no trace. Text is indexed, never stored; purging a record deletes
its entry and merges the segments so its words are gone from the files too.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from whoosh import fields, index
from whoosh import query as wq
from whoosh.analysis import SpaceSeparatedTokenizer

from docctl.search import analysis


def _schema() -> fields.Schema:
    return fields.Schema(
        id=fields.NUMERIC(stored=True, unique=True, bits=64, signed=False),
        # Who may see it, so a search counts and pages only what the asker may see.
        keeper=fields.ID(),
        private=fields.ID(),
        words=fields.TEXT(analyzer=SpaceSeparatedTokenizer(), stored=False, phrase=False),
    )


def folded(*texts: str | None) -> str:
    """Return the folded words of texts, as indexed and as asked."""
    return analysis.fold_joined(analysis.joined_words(" ".join(t or "" for t in texts)))


class RecordsIndex:
    """One records index folder: add, purge, search."""

    def __init__(self, path: str):
        self.path = path

    def _open(self, create: bool = False):
        if index.exists_in(self.path):
            return index.open_dir(self.path)
        if not create:
            return None
        os.makedirs(self.path, exist_ok=True)
        return index.create_in(self.path, _schema())

    def add(self, entries: Iterable[tuple[int, int, bool, str]]) -> int:
        """Index (record id, keeper id, department only?, folded words); return how many."""
        ix = self._open(create=True)
        writer = ix.writer(timeout=30.0)
        count = 0
        try:
            for record_id, keeper_id, private, words in entries:
                writer.update_document(id=record_id, keeper=str(keeper_id),
                                       private="1" if private else "0", words=words)
                count += 1
        except BaseException:
            writer.cancel()
            raise
        writer.commit()
        return count

    def purge(self, record_ids: Iterable[int]) -> None:
        """Delete records' entries (their words stay in segment files until merge())."""
        ix = self._open()
        if ix is None:
            return
        writer = ix.writer(timeout=30.0)
        for record_id in record_ids:
            writer.delete_by_term("id", record_id)
        writer.commit()

    def merge(self) -> None:
        """Rewrite every segment into one, so deleted records' words leave the files."""
        ix = self._open()
        if ix is not None:
            ix.optimize()

    def search(self, words: str, *, page: int, per_page: int, keeper: int | None,
               only_keeper: bool) -> tuple[list[int], int]:
        """Return one page of the ids of records holding every word (best first) and how many.

        only_keeper: the asker sees their department's records only; else also every record
        not marked department-only.
        """
        ix = self._open()
        terms = [w for w in words.split() if w]
        if ix is None or not terms:
            return [], 0
        query = wq.And([wq.Prefix("words", t) if i == len(terms) - 1 and len(t) >= 2
                        else wq.Term("words", t) for i, t in enumerate(terms)])
        own = wq.Term("keeper", str(keeper if keeper is not None else -1))
        allowed = own if only_keeper else wq.Or([wq.Term("private", "0"), own])
        with ix.searcher() as searcher:
            hits = searcher.search_page(query, page, pagelen=per_page, filter=allowed)
            return [hit["id"] for hit in hits], hits.total

    def count(self) -> int:
        """Return how many records the index holds."""
        ix = self._open()
        return 0 if ix is None else ix.doc_count()
