"""The Whoosh backend: the only module that imports Whoosh."""

from __future__ import annotations

import threading
import time
from array import array
from collections import Counter, defaultdict
from collections.abc import Collection, Iterable

from whoosh import fields, index, scoring
from whoosh import query as wq
from whoosh.analysis import SpaceSeparatedTokenizer
from whoosh.formats import Frequency, Positions
from whoosh.idsets import BitSet
from whoosh.index import LockError
from whoosh.matching import Matcher, NullMatcher
from whoosh.system import _INT_SIZE, pack_uint

from docctl.search import analysis, location, whoosh_rebuild
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

_FILTER_CACHE = 32


class PreAnalysedExactFrequency(Frequency):
    """Frequencies of words with diacritics, already analysed and joined by spaces.

    Queries look exact words up only when they carry diacritics (ASCII words equal their
    folded form): leaving the others out saves a third of Whoosh's postings.
    """

    def word_values(self, value, analyzer, **kwargs):
        boost = self.field_boost
        for word, freq in Counter(value.split()).items():
            if not word.isascii():
                yield word, freq, freq * boost, pack_uint(freq)


class PreAnalysedPositions(Positions):
    """Positions of words already analysed and joined by spaces (see analysis.py)."""

    # Positions as a machine array (not Whoosh's pickled deltas): decoding runs in C.
    def encode(self, poslist):
        return pack_uint(len(poslist)) + array("I", poslist).tobytes()

    def decode_positions(self, valuestring):
        return _positions(valuestring)

    def word_values(self, value, analyzer, **kwargs):
        poses: dict[str, list[int]] = defaultdict(list)
        for pos, word in enumerate(value.split()):
            poses[word].append(pos)
        boost = self.field_boost
        for word, positions in poses.items():
            yield word, len(positions), len(positions) * boost, self.encode(positions)


class FastPhrase(wq.Phrase):
    """An exact phrase, matched by intersecting position sets.

    Whoosh's own Phrase walks span objects in Python: ~0.2 s a query at 2,000 documents.
    """

    def matcher(self, searcher, context=None):
        reader = searcher.reader()
        if any((self.fieldname, word) not in reader for word in self.words):
            return NullMatcher()
        # The rarest word leads: fewer candidates to check.
        order = sorted(range(len(self.words)),
                       key=lambda i: reader.doc_frequency(self.fieldname, self.words[i]))
        return _PhraseMatcher([(wq.Term(self.fieldname, self.words[i]).matcher(
            searcher, context), i) for i in order], self.boost)


def _positions(valuestring: bytes) -> list[int]:
    positions = array("I")
    positions.frombytes(valuestring[_INT_SIZE:])
    return positions.tolist()


class _PhraseMatcher(Matcher):
    """Documents where the words' matchers sit at consecutive positions."""

    def __init__(self, matchers: list, boost: float = 1.0, *, find: bool = True):
        self._ms, self._boost, self._active = matchers, boost, True
        if find:
            self._find()

    def _find(self) -> None:
        (lead, lead_offset), rest = self._ms[0], self._ms[1:]
        while lead.is_active():
            target = lead.id()
            for m, _offset in rest:   # leapfrog: every word in the same document
                if m.id() < target:
                    m.skip_to(target)
                    if not m.is_active():
                        self._active = False
                        return
                if m.id() > target:
                    lead.skip_to(m.id())
                    break
            else:
                # Shift the rare lead's few positions, not the common words' many.
                starts = [p - lead_offset for p in _positions(lead.value())]
                for m, offset in rest:
                    at = set(_positions(m.value()))
                    starts = [s for s in starts if s + offset in at]
                if starts:
                    return
                lead.next()
        self._active = False

    def is_active(self):
        return self._active

    def id(self):
        return self._ms[0][0].id()

    def next(self):
        self._ms[0][0].next()
        self._find()

    def skip_to(self, id):
        if self._active and id > self.id():
            self._ms[0][0].skip_to(id)
            self._find()

    def copy(self):
        copied = _PhraseMatcher([(m.copy(), offset) for m, offset in self._ms], self._boost,
                                find=False)
        copied._active = self._active
        return copied

    def reset(self):
        for m, _offset in self._ms:
            m.reset()
        self._active = True
        self._find()

    def supports(self, astype):
        return False

    def supports_block_quality(self):
        return False

    def max_quality(self):
        return self._boost * sum(m.max_quality() for m, _offset in self._ms)

    def score(self):
        return self._boost * sum(m.score() for m, _offset in self._ms)

    def children(self):
        return [m for m, _offset in self._ms]

    def term_matchers(self):
        for m, _offset in self._ms:
            yield from m.term_matchers()


class _LengthCachedBM25(scoring.BM25F):
    """BM25F reading field lengths from a list per segment, not a column per posting."""

    def scorer(self, searcher, fieldname, text, qf=1):
        if not searcher.schema[fieldname].scorable:
            return scoring.WeightScorer.for_(searcher, fieldname, text)
        return _LengthCachedScorer(searcher, fieldname, text, self.B, self.K1, qf=qf)


class _LengthCachedScorer(scoring.BM25FScorer):
    def setup(self, searcher, fieldname, text):
        super().setup(searcher, fieldname, text)
        reader = searcher.reader()
        cache = reader.__dict__.setdefault("_docctl_lengths", {})
        if fieldname not in cache:
            cache[fieldname] = [reader.doc_field_length(i, fieldname, 1)
                                for i in range(reader.doc_count_all())]
        self.dfl = cache[fieldname].__getitem__


def _text_field(*, phrase: bool = True) -> fields.TEXT:
    field = fields.TEXT(analyzer=SpaceSeparatedTokenizer(), phrase=phrase)
    field.format = PreAnalysedPositions() if phrase else PreAnalysedExactFrequency()
    return field


def _schema() -> fields.Schema:
    return fields.Schema(
        rid=fields.ID(unique=True, stored=True),
        doc=fields.STORED,
        # Exact words rank, folded words match: only the folded field needs positions.
        exact=_text_field(phrase=False), folded=_text_field(),
        codes=fields.KEYWORD(scorable=True), code_key=fields.KEYWORD(scorable=True),
        status=fields.ID, doc_type=fields.ID, department=fields.ID,
        code_sort=fields.ID(sortable=True),
        date_sort=fields.NUMERIC(int, bits=64, sortable=True),
    )


class WhooshBackend:
    """Full-text search with Whoosh (pure Python; serves a few thousand documents well)."""

    name = "whoosh"

    def __init__(self):
        self._ix = None
        self._searcher = None
        self._lock = threading.Lock()

    def open(self, path: str, *, create: bool = False) -> None:
        """Open the index at path (create it empty if asked) or raise SearchUnavailable."""
        try:
            if create:
                self._ix = index.create_in(path, _schema())
                location.write_marker(path, self.name)
            else:
                location.check_marker(path, self.name)
                self._ix = index.open_dir(path)
        except SearchUnavailable:
            raise
        except Exception as exc:
            raise SearchUnavailable("the search index cannot be opened; rebuild it",
                                    path=path) from exc

    def _index(self):
        if self._ix is None:
            raise SearchUnavailable("the search index is not open")
        return self._ix

    def _write(self, work) -> None:
        """Run work(writer) and commit, waiting for Whoosh's own lock if someone holds it."""
        deadline = time.monotonic() + LOCK_WAIT
        while True:
            try:
                writer = self._index().writer(timeout=1.0, limitmb=64)
                break
            except LockError:
                if time.monotonic() > deadline:
                    raise SearchBusy("the search index is locked by another writer") from None
        try:
            work(writer)
        except BaseException:
            writer.cancel()
            raise
        writer.commit()

    def upsert(self, docs: list[IndexDoc]) -> None:
        """Add or replace documents, keyed by revision id, in one commit."""
        if docs:
            self._write(lambda w: [w.update_document(**_fields(d)) for d in docs])

    def load(self, batches: Iterable[list[IndexDoc]], *, workers: int = 1) -> int:
        """Fill a new, empty index as one segment, in one commit; return the count."""
        # Worker processes analyse and gather postings, then two processes write them: on two
        # cores this beats Whoosh's own sub-writers, which pickle every posting between them.
        try:
            return whoosh_rebuild.load(self._index(), batches, _prepare, workers=workers,
                                       timeout=LOCK_WAIT)
        except LockError:
            raise SearchBusy("the search index is locked by another writer") from None

    def remove(self, revision_ids: Collection[int]) -> None:
        """Delete revisions from the index (absent ones are ignored)."""
        if revision_ids:
            self._write(lambda w: [w.delete_by_term("rid", str(i)) for i in revision_ids])

    def _with_searcher(self, work):
        with self._lock:
            # Twice: a writer in another process may delete a segment between TOC and open.
            for attempt in (1, 2):
                try:
                    ix = self._index()
                    # Not Searcher.refresh(): reusing segment readers misses new deletions.
                    if self._searcher is not None and \
                            self._searcher.reader().generation() != ix.latest_generation():
                        self._close_searcher()
                    if self._searcher is None:
                        self._searcher = ix.searcher(weighting=_LengthCachedBM25())
                    return work(self._searcher)
                except SearchUnavailable:
                    raise
                except Exception as exc:
                    self._close_searcher()
                    if attempt == 2:
                        raise SearchUnavailable("the search index cannot be read; rebuild it",
                                                reason=repr(exc)) from exc

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
        # One pass that scores every match is cheaper in Whoosh than top-N plus a count.
        options: dict = {"limit": None}
        if sort == "code":
            options["sortedby"] = "code_sort"
        elif sort == "date":
            options.update(sortedby="date_sort", reverse=True)

        def run(searcher):
            results = searcher.search(_query(query), filter=_filter_docs(searcher, scope),
                                      **options)
            hits = []
            for hit in results[offset:offset + limit]:
                doc = IndexDoc.from_json(hit["doc"])
                score = float(hit.score or 0.0) if sort == "relevance" else 0.0
                hits.append(Hit(doc.revision_id, doc.code, score))
            return SearchResult(len(results), hits)

        return self._with_searcher(run)

    def suggest(self, query: ParsedQuery, *, statuses: Collection[str] | None = None,
                include_ids: Collection[int] = (), exclude_ids: Collection[int] = (),
                limit: int = 3) -> list[str]:
        """Return corrected queries built from words of revisions the filter lets through."""
        if query.empty:
            return []
        scope = Filter.of(statuses, include_ids=include_ids, exclude_ids=exclude_ids)

        def run(searcher):
            allowed = _filter_docs(searcher, scope)

            def visible_df(term: str) -> int:
                docs = set(searcher.docs_for_query(wq.Term("folded", term)))
                return len(docs) if allowed is None else sum(d in allowed for d in docs)

            def prefix_terms(prefix: str):
                return (t.decode("utf-8") if isinstance(t, bytes) else t
                        for t in searcher.reader().expand_prefix("folded", prefix))

            return corrections(query, visible_df, prefix_terms, limit)

        return self._with_searcher(run)

    def revision_ids(self, statuses: Collection[str] | None = None) -> dict[int, str]:
        """Return {revision id: status} of indexed revisions."""
        wanted = set(statuses) if statuses is not None else None

        def run(searcher):
            out = {}
            for stored in searcher.reader().all_stored_fields():
                doc = IndexDoc.from_json(stored["doc"])
                if wanted is None or doc.status in wanted:
                    out[doc.revision_id] = doc.status
            return out

        return self._with_searcher(run)

    def doc_count(self) -> int:
        """Return how many revisions the index holds."""
        return self._with_searcher(lambda searcher: searcher.doc_count())

    def clear(self) -> None:
        """Delete every document."""
        self._write(lambda w: w.delete_by_query(wq.Every()))

    def close(self) -> None:
        """Release files and locks."""
        with self._lock:
            self._close_searcher()
        if self._ix is not None:
            self._ix.close()
            self._ix = None

    def _close_searcher(self) -> None:
        if self._searcher is not None:
            self._searcher.close()
            self._searcher = None


def _prepare(docs: list[IndexDoc]) -> list[dict]:
    """Return the Whoosh fields of a batch of documents (in a worker process too)."""
    return [_fields(doc, fields_) for doc, fields_ in zip(docs, analysis.analyse_batch(docs),
                                                          strict=True)]


def _fields(doc: IndexDoc, fields_: analysis.Analysed | None = None) -> dict:
    fields_ = fields_ or analysis.analyse(doc)
    return {"rid": str(doc.revision_id), "doc": doc.to_json(), "exact": fields_.exact,
            "folded": fields_.folded, "codes": fields_.codes,
            "code_key": fields_.code_key, "status": doc.status, "doc_type": doc.doc_type,
            "department": doc.department, "code_sort": code_sort_key(doc.code, doc.number),
            "date_sort": date_sort_key(doc.effective_date, doc.revision_id)}


def _clause(clause: Clause) -> wq.Query:
    exact, folded = list(clause.exact), list(clause.folded)
    if clause.kind == "phrase":
        if not clause.has_diacritics:
            return FastPhrase("folded", folded)
        # The folded phrase matches; its exact words only rank.
        return wq.AndMaybe(FastPhrase("folded", folded), wq.Or(
            [wq.Term("exact", w, boost=EXACT_BOOST) for w in clause.marked_words]))
    kind = wq.Prefix if clause.kind == "prefix" else wq.Term
    # A union, not AndMaybe: Whoosh unions postings faster than it skips through them.
    subs = [kind("folded", folded[0])]
    if clause.has_diacritics:
        subs.append(kind("exact", exact[0], boost=EXACT_BOOST))
    if clause.may_be_code:
        subs.append(kind("codes", folded[0]))
    return subs[0] if len(subs) == 1 else wq.Or(subs)


def _query(query: ParsedQuery) -> wq.Query:
    clauses = [_clause(c) for c in query.clauses]
    parts = [clauses[0] if len(clauses) == 1 else wq.And(clauses)]
    if query.code_key:
        kind = wq.Prefix if query.code_prefix else wq.Term
        parts.append(kind("code_key", query.code_key, boost=CODE_BOOST))
        parts.append(kind("codes", query.code_key, boost=MENTION_BOOST))
    return parts[0] if len(parts) == 1 else wq.Or(parts)


def _ids(ids: Collection[int]) -> wq.Query:
    return wq.Or([wq.Term("rid", str(i)) for i in sorted(ids)])


def _filter_query(scope: Filter) -> wq.Query | None:
    parts: list[wq.Query] = []
    if scope.statuses is not None:
        allowed: wq.Query = (wq.Or([wq.Term("status", s) for s in sorted(scope.statuses)])
                             if scope.statuses else wq.NullQuery)
        if scope.exclude_ids:
            allowed = wq.AndNot(allowed, _ids(scope.exclude_ids))
        if scope.include_ids:
            allowed = wq.Or([allowed, _ids(scope.include_ids)])
        parts.append(allowed)
    elif scope.exclude_ids:
        parts.append(wq.Not(_ids(scope.exclude_ids)))
    if scope.doc_type:
        parts.append(wq.Term("doc_type", scope.doc_type))
    if scope.department:
        parts.append(wq.Term("department", scope.department))
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else wq.And(parts)


def _filter_docs(searcher, scope: Filter) -> BitSet | None:
    """Return the documents a filter lets through, kept with the searcher for the next query."""
    # Most searches share one filter (staff: effective only); computing it cost a sixth of a
    # query. The searcher is replaced when the index changes, and its cache with it.
    cache = searcher.__dict__.setdefault("_docctl_filters", {})
    if scope not in cache:
        query = _filter_query(scope)
        if len(cache) >= _FILTER_CACHE:
            cache.clear()
        cache[scope] = None if query is None else BitSet(
            searcher.docs_for_query(query), size=searcher.doc_count_all())
    return cache[scope]
