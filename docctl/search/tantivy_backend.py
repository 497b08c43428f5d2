"""The tantivy backend: with tantivy_analysis.py, the only modules that import tantivy."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Collection, Iterable

import tantivy
from tantivy import Occur, Order, Query

from docctl.search import location
from docctl.search.analysis import Clause, ParsedQuery
from docctl.search.base import (
    CODE_BOOST,
    EXACT_BOOST,
    LOCK_WAIT,
    MENTION_BOOST,
    Filter,
    Hit,
    IndexDoc,
    SearchBusy,
    SearchResult,
    SearchUnavailable,
    check_sort,
    code_sort_key,
    date_sort_key,
)
from docctl.search.suggest import corrections
from docctl.search.tantivy_analysis import (
    CODES,
    FOLDED,
    WORDS,
    QueryWords,
    analyzers,
    prepare,
    regex_literal,
)

HEAP = 64_000_000
BULK_THREADS = 2


def _schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    builder.add_integer_field("rid", stored=True, indexed=True, fast=True)
    builder.add_bytes_field("doc", stored=True)
    # Exact words rank, folded words match: only the folded fields need positions.
    builder.add_text_field("exact", tokenizer_name=WORDS, index_option="freq")
    builder.add_text_field("folded", tokenizer_name=FOLDED)
    builder.add_text_field("codes", tokenizer_name=CODES, index_option="freq")
    builder.add_text_field("code_key", tokenizer_name="raw", index_option="freq")
    for name in ("status", "doc_type", "department"):
        builder.add_text_field(name, tokenizer_name="raw", index_option="basic")
    builder.add_text_field("code_sort", tokenizer_name="raw", fast=True, index_option="basic")
    builder.add_integer_field("date_sort", fast=True)
    return builder.build()


def _register(ix: tantivy.Index, found: dict[str, tantivy.TextAnalyzer]) -> None:
    for name, analyzer in found.items():
        ix.register_tokenizer(name, analyzer)


class TantivyBackend:
    """Full-text search with tantivy (Rust; serves tens of thousands of documents)."""

    name = "tantivy"

    def __init__(self):
        self._ix: tantivy.Index | None = None
        self._schema = _schema()
        self._analyzers = analyzers()
        self._words = QueryWords(self._analyzers)
        self._lock = threading.Lock()
        self._path = ""
        self._seen: tuple | None = None   # meta.json as it was at the last reload
        self._reloaded = 0.0

    def open(self, path: str, *, create: bool = False) -> None:
        """Open the index at path (create it empty if asked) or raise SearchUnavailable."""
        try:
            if create:
                self._ix = tantivy.Index(self._schema, path=path, reuse=False)
                location.write_marker(path, self.name)
            else:
                location.check_marker(path, self.name)
                self._ix = tantivy.Index.open(path)
            _register(self._ix, self._analyzers)
            self._ix.config_reader("Manual")
            self._path, self._seen = path, None
        except SearchUnavailable:
            raise
        except Exception as exc:
            raise SearchUnavailable("the search index cannot be opened; rebuild it",
                                    path=path) from exc

    def _index(self) -> tantivy.Index:
        if self._ix is None:
            raise SearchUnavailable("the search index is not open")
        return self._ix

    def _write(self, work, *, threads: int = 1) -> None:
        """Run work(writer) and commit; tantivy lets one writer in, so wait for our turn."""
        deadline, pause = time.monotonic() + LOCK_WAIT, 0.01
        while True:
            try:
                writer = self._index().writer(heap_size=HEAP * max(threads, 1),
                                              num_threads=threads)
                break
            except ValueError as exc:
                if "lock" not in str(exc).lower() or time.monotonic() > deadline:
                    raise SearchBusy("the search index is locked by another writer") from exc
                time.sleep(pause)
                pause = min(pause * 2, 0.2)
        try:
            work(writer)
            writer.commit()
        except BaseException:
            writer.rollback()
            raise
        finally:
            writer.wait_merging_threads()   # consumes the writer: its lock is released
        self._index().reload()

    def upsert(self, docs: list[IndexDoc], *, threads: int = 1) -> None:
        """Add or replace documents, keyed by revision id, in one commit."""
        if not docs:
            return

        def work(writer):
            for doc in docs:
                writer.delete_documents_by_term("rid", doc.revision_id)
                writer.add_document(_document(doc))

        self._write(work, threads=threads)

    def load(self, batches: Iterable[list[IndexDoc]], *, workers: int = 1) -> int:
        """Fill a new, empty index in one writer and one commit; return the count."""
        # No worker processes (workers is ignored): tantivy analyses in its writer threads, and
        # what is left here costs less than shipping the text to another process and back.
        count = 0

        def work(writer):
            nonlocal count
            for docs in batches:
                for doc in docs:
                    writer.add_document(_document(doc))
                count += len(docs)

        self._write(work, threads=BULK_THREADS)
        return count

    def remove(self, revision_ids: Collection[int]) -> None:
        """Delete revisions from the index (absent ones are ignored)."""
        if revision_ids:
            self._write(lambda w: [w.delete_documents_by_term("rid", int(i))
                                   for i in revision_ids])

    def _searcher(self) -> tantivy.Searcher:
        try:
            with self._lock:
                ix = self._index()
                # See commits of other processes too; a commit rewrites meta.json, and a
                # stat costs far less than a reload on every query. Still reload once a
                # second: a rewrite within one clock tick may reuse the inode and the size.
                seen, moment = _meta_identity(self._path), time.monotonic()
                if seen is None or seen != self._seen or moment - self._reloaded > 1.0:
                    ix.reload()
                    self._seen, self._reloaded = seen, moment
                return ix.searcher()
        except SearchUnavailable:
            raise
        except Exception as exc:
            raise SearchUnavailable("the search index cannot be read; rebuild it") from exc

    def search(self, query: ParsedQuery, *, statuses: Collection[str] | None = None,
               doc_type: str | None = None, department: str | None = None,
               include_ids: Collection[int] = (), exclude_ids: Collection[int] = (),
               sort: str = "relevance", offset: int = 0, limit: int = 20) -> SearchResult:
        """Return matches of a ParsedQuery among the revisions the filter lets through."""
        if query.empty:
            return SearchResult(0, [])
        scope = Filter.of(statuses, doc_type, department, include_ids, exclude_ids)
        sort = check_sort(sort)
        offset, limit = max(0, offset), max(0, limit)
        final = self._filtered(self._query(query), scope)
        options: dict = {}
        if sort == "code":
            options.update(order_by_field="code_sort", order=Order.Asc)
        elif sort == "date":
            options.update(order_by_field="date_sort", order=Order.Desc)

        def run(searcher):
            result = searcher.search(final, max(limit, 1), count=True, offset=offset, **options)
            hits = []
            for value, address in result.hits[:limit]:
                doc = _doc(searcher, address)
                score = float(value) if sort == "relevance" else 0.0
                hits.append(Hit(doc.revision_id, doc.code, score))
            return SearchResult(int(result.count or 0), hits)

        return self._read(run)

    def _read(self, work):
        """Run work(searcher) on the latest commit, retried once after a failure."""
        # Twice: a writer in another process may delete a segment between meta and open.
        for attempt in (1, 2):
            try:
                return work(self._searcher())
            except SearchUnavailable:
                if attempt == 2:
                    raise
            except Exception as exc:
                if attempt == 2:
                    raise SearchUnavailable("the search index cannot be read; rebuild it",
                                            reason=repr(exc)) from exc

    def suggest(self, query: ParsedQuery, *, statuses: Collection[str] | None = None,
                include_ids: Collection[int] = (), exclude_ids: Collection[int] = (),
                limit: int = 3) -> list[str]:
        """Return corrected queries built from words of revisions the filter lets through."""
        if query.empty:
            return []
        scope = Filter.of(statuses, include_ids=include_ids, exclude_ids=exclude_ids)
        allowed = self._filter(scope)

        def run(searcher):
            seen: dict[str, int] = {}

            def prefix_terms(prefix: str):
                found = searcher.terms_with_prefix("folded", prefix, filter_query=allowed)
                seen.update(found)
                return [term for term, _count in found]

            def visible_df(term: str) -> int:
                if term not in seen:
                    probe = Query.term_query(self._schema, "folded", term)
                    seen[term] = searcher.search(self._filtered(probe, scope), 1).count or 0
                return seen[term]

            return corrections(self._words.for_suggestions(query), visible_df, prefix_terms,
                               limit)

        return self._read(run)

    def revision_ids(self, statuses: Collection[str] | None = None) -> dict[int, str]:
        """Return {revision id: status} of indexed revisions."""
        def run(searcher):
            found = searcher.search(Query.all_query(), max(searcher.num_docs, 1)).hits
            docs = (_doc(searcher, address) for _score, address in found)
            return {d.revision_id: d.status for d in docs
                    if statuses is None or d.status in statuses}

        return self._read(run)

    def doc_count(self) -> int:
        """Return how many revisions the index holds."""
        return self._read(lambda searcher: searcher.num_docs)

    def clear(self) -> None:
        """Delete every document."""
        self._write(lambda w: w.delete_all_documents())

    def close(self) -> None:
        """Release files and locks."""
        self._ix = None

    # Queries are built from tokens only: user text never reaches a query parser.
    def _terms(self, kind: str, field: str, word: str) -> Query:
        if kind == "prefix":
            # Folding may turn a letter into punctuation ("⑴" → "(1)"): escape it.
            return Query.regex_query(self._schema, field, regex_literal(word) + ".*")
        return Query.term_query(self._schema, field, word)

    def _clause(self, clause: Clause) -> Query:
        terms = self._words.clause(clause)
        if terms is not None and terms.kind == "phrase":
            # The folded phrase matches; its exact words only rank.
            return Query.boolean_query(
                [(Occur.Must, Query.phrase_query(self._schema, "folded", list(terms.folded)))]
                + [(Occur.Should, Query.boost_query(self._terms("word", "exact", w),
                                                    EXACT_BOOST))
                   for w in terms.marked_words])
        subs = []
        if terms is not None:
            subs.append(self._terms(terms.kind, "folded", terms.folded[0]))
            if terms.has_diacritics:
                subs.append(Query.boost_query(self._terms(terms.kind, "exact", terms.exact[0]),
                                              EXACT_BOOST))
        if clause.may_be_code:
            # Code keys are folded by analysis.py, so the query's own folding finds them.
            subs.append(self._terms(clause.kind, "codes", clause.folded[0]))
        if not subs:
            return Query.empty_query()   # a word no field can hold
        return Query.boolean_query([(Occur.Should, q) for q in subs])

    def _query(self, query: ParsedQuery) -> Query:
        required = Query.boolean_query([(Occur.Must, self._clause(c)) for c in query.clauses])
        parts = [required]
        if query.code_key:
            kind = "prefix" if query.code_prefix else "word"
            parts.append(Query.boost_query(self._terms(kind, "code_key", query.code_key),
                                           CODE_BOOST))
            parts.append(Query.boost_query(self._terms(kind, "codes", query.code_key),
                                           MENTION_BOOST))
        return Query.boolean_query([(Occur.Should, q) for q in parts])

    def _ids(self, ids: Collection[int]) -> Query:
        return Query.term_set_query(self._schema, "rid", sorted(int(i) for i in ids))

    def _filter(self, scope: Filter) -> Query | None:
        parts: list[tuple[Occur, Query]] = []
        if scope.statuses is not None:
            allowed = (Query.term_set_query(self._schema, "status", sorted(scope.statuses))
                       if scope.statuses else Query.empty_query())
            if scope.exclude_ids:
                allowed = Query.boolean_query([(Occur.Must, allowed),
                                               (Occur.MustNot, self._ids(scope.exclude_ids))])
            if scope.include_ids:
                allowed = Query.boolean_query([(Occur.Should, allowed),
                                               (Occur.Should, self._ids(scope.include_ids))])
            parts.append((Occur.Must, allowed))
        elif scope.exclude_ids:
            parts += [(Occur.Must, Query.all_query()),
                      (Occur.MustNot, self._ids(scope.exclude_ids))]
        for field, value in (("doc_type", scope.doc_type), ("department", scope.department)):
            if value:
                parts.append((Occur.Must, Query.term_query(self._schema, field, value)))
        return Query.boolean_query(parts) if parts else None

    def _filtered(self, query: Query, scope: Filter) -> Query:
        allowed = self._filter(scope)
        if allowed is None:
            return query
        # A zero constant score filters without changing the ranking.
        return Query.boolean_query([(Occur.Must, query),
                                    (Occur.Must, Query.const_score_query(allowed, 0.0))])


def _meta_identity(path: str) -> tuple | None:
    try:
        stat = os.stat(os.path.join(path, "meta.json"))
    except OSError:
        return None
    return stat.st_ino, stat.st_mtime_ns, stat.st_size


def _document(doc: IndexDoc) -> tantivy.Document:
    ready = prepare(doc)
    # The same lowered sections twice: tantivy splits (and folds) each field on its own.
    return tantivy.Document(
        rid=doc.revision_id, doc=doc.to_json().encode("utf-8"),
        exact=ready.sections, folded=ready.sections, codes=ready.codes,
        code_key=ready.code_key, status=doc.status, doc_type=doc.doc_type,
        department=doc.department, code_sort=code_sort_key(doc.code, doc.number),
        date_sort=date_sort_key(doc.effective_date, doc.revision_id))


def _doc(searcher: tantivy.Searcher, address) -> IndexDoc:
    stored = searcher.doc(address)
    return IndexDoc.from_json(bytes(stored.get_first("doc")))
