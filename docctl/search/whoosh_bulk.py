"""Bulk loading of a Whoosh index: one segment, its postings gathered in compact arrays.

Whoosh's own writer pickles every posting into external-sort run files, merges them back one
posting at a time and reads a field length from a column for each: four fifths of a rebuild.
Here documents are added in docnum order, so each term's postings arrive already sorted: they
are kept per term in machine arrays, spilled to a run file per term (not per posting) when
they outgrow a memory budget, and written out term by term, a whole block at a time. The
segment holds what Whoosh's SegmentWriter would write for the same documents.
"""

from __future__ import annotations

import heapq
import struct
from array import array
from collections.abc import Iterable, Iterator
from itertools import accumulate
from operator import itemgetter

from whoosh.fields import FieldType, UnknownFieldError
from whoosh.util import random_name
from whoosh.util.numeric import byte_to_length, length_to_byte
from whoosh.writing import NO_MERGE, SegmentWriter

# Postings held in memory before they spill to a run file: ~25 MB, ~1,000 documents of 8 KB.
RUN_POSTINGS = 1_000_000
_KEY = itemgetter(0, 1)
# A run file's record: the lengths of fieldname, term, docnums, weights, values and sizes.
_RECORD = struct.Struct("<HIIIII")


class _Postings:
    """One term's postings in docnum order: docnums, weights, values and their sizes."""

    __slots__ = ("docs", "weights", "values", "sizes")

    def __init__(self, docs=b"", weights=b"", values=b"", sizes=b""):
        self.docs = array("I", docs)
        self.weights = array("f", weights)
        self.values = bytearray(values)
        self.sizes = array("I", sizes)   # of each value, when values vary in size

    def extend(self, later: _Postings) -> None:
        """Append the postings of later documents."""
        self.docs += later.docs
        self.weights += later.weights
        self.values += later.values
        self.sizes += later.sizes

    def dump(self, f, fieldname: str, tbytes: bytes) -> None:
        """Write the term's postings to a run file."""
        name = fieldname.encode("utf-8")
        parts = (self.docs.tobytes(), self.weights.tobytes(), self.values,
                 self.sizes.tobytes())
        f.write(_RECORD.pack(len(name), len(tbytes), *map(len, parts)))
        f.write(name)
        f.write(tbytes)
        for part in parts:
            f.write(part)

    @classmethod
    def load(cls, f) -> tuple[str, bytes, _Postings] | None:
        """Read the next term's postings from a run file (None at its end)."""
        header = f.read(_RECORD.size)
        if not header:
            return None
        name, tbytes, *parts = (f.read(n) for n in _RECORD.unpack(header))
        return name.decode("utf-8"), tbytes, cls(*parts)


class _FieldPostings:
    """One field's postings, by term."""

    def __init__(self, fieldobj: FieldType):
        # None: values of any size; 0: no values; n: n bytes each.
        self.size = fieldobj.format.fixed_value_size()
        # Fields that index analysed words are keyed by the word (its UTF-8 bytes sort alike):
        # encoding once per term, not once per posting.
        self.by_word = type(fieldobj).index is FieldType.index
        self.terms: dict[str | bytes, _Postings] = {}
        self.total = 0   # postings ever added, spilled or not

    def add(self, docnum: int, items: Iterable[tuple], boost: float) -> tuple[int, int]:
        """Add a document's (term, freq, weight, value) postings; return (length, count)."""
        terms, size, length, count = self.terms, self.size, 0, 0
        for term, freq, weight, value in items:
            postings = terms.get(term)
            if postings is None:
                postings = terms[term] = _Postings()
            postings.docs.append(docnum)
            postings.weights.append(weight * boost)
            if size is None:
                postings.values += value
                postings.sizes.append(len(value))
            elif size:
                postings.values += value
            length += freq
            count += 1
        self.total += count
        return length, count

    def sorted_terms(self) -> list[tuple[bytes, _Postings]]:
        """Return (term bytes, postings) in Whoosh's order: by bytes."""
        items = self.terms.items()
        if self.by_word:
            items = ((word.encode("utf-8"), postings) for word, postings in items)
        return sorted(items, key=itemgetter(0))

    def blocks(self, postings: _Postings, limit: int, *,
               keep_empty: bool = False) -> Iterator[tuple[int, int, list[bytes]]]:
        """Yield (start, stop, values) per block of postings.

        The values are as Whoosh's postings writer holds them (only the non-empty ones, joined
        when of a fixed size) unless keep_empty asks for one value per posting.
        """
        raw, size, count = bytes(postings.values), self.size, len(postings.docs)
        if size is None:   # slices cut at C speed: there may be a million values
            ends = list(accumulate(postings.sizes))
            slices = list(map(slice, [0, *ends[:-1]], ends))
        for start in range(0, count, limit):
            stop = min(start + limit, count)
            if size is None:
                values = list(map(raw.__getitem__, slices[start:stop]))
                if not keep_empty and 0 in postings.sizes[start:stop]:
                    values = [value for value in values if value]
            elif keep_empty:
                values = [raw[i * size:(i + 1) * size] for i in range(start, stop)]
            else:
                joined = raw[start * size:stop * size]
                values = [joined] if joined else []
            yield start, stop, values


class MemoryPool:
    """The postings of one segment (the interface of Whoosh's PostingPool)."""

    def __init__(self, schema, tempstore, run_postings: int | None = None):
        self.schema, self.tempstore = schema, tempstore
        self.run_postings = RUN_POSTINGS if run_postings is None else run_postings
        self.fieldnames: set[str] = set()
        self.fields: dict[str, _FieldPostings] = {}
        self.count = 0
        self.runs: list[str] = []

    def field(self, fieldname: str) -> _FieldPostings:
        """Return a field's postings, starting them if the field is new."""
        found = self.fields.get(fieldname)
        if found is None:
            found = self.fields[fieldname] = _FieldPostings(self.schema[fieldname])
            self.fieldnames.add(fieldname)
        return found

    def document_added(self) -> None:
        """Spill the postings to a run file if they outgrew the budget (between documents)."""
        if self.count >= self.run_postings:
            self.spill()

    def spill(self) -> None:
        """Write the postings held in memory to a run file, sorted, and forget them."""
        name = f"{random_name()}.bulkrun"
        with self.tempstore.create_file(name).raw_file() as f:
            for fieldname, tbytes, postings in self._in_memory():
                postings.dump(f, fieldname, tbytes)
        self.runs.append(name)
        for field in self.fields.values():
            field.terms = {}
        self.count = 0

    def _in_memory(self) -> Iterator[tuple[str, bytes, _Postings]]:
        for fieldname in sorted(self.fields):
            for tbytes, postings in self.fields[fieldname].sorted_terms():
                yield fieldname, tbytes, postings

    def _run(self, name: str) -> Iterator[tuple[str, bytes, _Postings]]:
        with self.tempstore.open_file(name).raw_file() as f:
            while (record := _Postings.load(f)) is not None:
                yield record

    def sorted_postings(self) -> Iterator[tuple[str, bytes, _Postings]]:
        """Yield (fieldname, term bytes, postings) of every term, sorted, runs merged."""
        # Runs hold earlier documents than later runs and memory: equal keys keep that order.
        sources = [self._run(name) for name in self.runs] + [self._in_memory()]
        last = None
        for fieldname, tbytes, postings in heapq.merge(*sources, key=_KEY):
            if last is not None and last[:2] == (fieldname, tbytes):
                last[2].extend(postings)
                continue
            if last is not None:
                yield last
            last = (fieldname, tbytes, postings)
        if last is not None:
            yield last

    def iter_postings(self) -> Iterator[tuple]:
        """Yield every posting as Whoosh's (fieldname, term, docnum, weight, value), sorted."""
        for fieldname, tbytes, postings in self.sorted_postings():
            blocks = self.field(fieldname).blocks(postings, len(postings.docs), keep_empty=True)
            for _start, _stop, values in blocks:
                for docnum, weight, value in zip(postings.docs, postings.weights, values,
                                                 strict=True):
                    yield fieldname, tbytes, docnum, weight, value

    def cleanup(self) -> None:
        """Drop the postings and delete the run files."""
        for name in self.runs:
            self.tempstore.delete_file(name)
        self.runs = []
        self.fields.clear()
        self.count = 0


def index_document(pool: MemoryPool, schema, docnum: int, fields: dict) -> list[tuple]:
    """Add a document's postings to pool; return (name, stored, length, column?, column).

    Whoosh's add_document, split: postings here, stored values and lengths by the writer.
    """
    boost = float(fields.get("_boost", 1.0))
    names = sorted(name for name in fields if not name.startswith("_"))
    for name in names:
        if name not in schema:
            raise UnknownFieldError(f"No field named {name!r} in {schema}")
    entries = []
    for name in names:
        value = fields[name]
        if value is None:
            continue
        fieldobj = schema[name]
        length = 0
        if fieldobj.indexed:
            field = pool.field(name)
            items = fieldobj.format.word_values(value, fieldobj.analyzer, mode="index") \
                if field.by_word else fieldobj.index(value)
            length, count = field.add(docnum, items,
                                      float(fields.get(f"_{name}_boost", boost)))
            pool.count += count
            if not fieldobj.scorable:
                length = 0
        stored = fields.get(f"_stored_{name}", value)
        has_column = bool(fieldobj.column_type) and stored is not None
        entries.append((name, stored if fieldobj.stored else None, length, has_column,
                        fieldobj.to_column_value(stored) if has_column else None))
    return entries


class BulkWriter(SegmentWriter):
    """A segment writer that only adds documents, gathering their postings term by term."""

    def __init__(self, ix, *, run_postings: int | None = None, **kwargs):
        super().__init__(ix, **kwargs)
        for name, fieldobj in self.schema.items():
            if fieldobj.vector or fieldobj.separate_spelling():
                raise ValueError(f"the bulk writer cannot index field {name!r}: "
                                 "vectors and separate spelling are not supported")
        self.pool = MemoryPool(self.schema, self._tempstorage, run_postings)
        # Each document's field lengths, as the segment stores them (a byte each).
        self._lengths: dict[str, array] = {name: array("I")
                                           for name in self.schema.scorable_names()}

    def add_reader(self, reader):
        """Refuse: merging segments is left to Whoosh's own writer."""
        raise NotImplementedError("the bulk writer only adds documents")

    def _merge_segments(self, mergetype, optimize, merge):
        return NO_MERGE(self, self.segments)

    def add_document(self, **fields):
        """Add one document, its postings straight into the pool."""
        self._check_state()
        self.add_entries(index_document(self.pool, self.schema, self.docnum, fields))
        self.pool.document_added()

    def add_entries(self, entries: list[tuple]) -> None:
        """Add the next document's stored values and lengths (its postings are pooled)."""
        perdoc, schema = self.perdocwriter, self.schema
        lengths = dict.fromkeys(self._lengths, 0)
        perdoc.start_doc(self.docnum)
        try:
            for name, stored, length, has_column, column in entries:
                fieldobj = schema[name]
                perdoc.add_field(name, fieldobj, stored, length)
                if has_column:
                    perdoc.add_column_value(name, fieldobj.column_type, column)
                if name in lengths:
                    lengths[name] = length
        except Exception:
            perdoc.cancel_doc()
            raise
        perdoc.finish_doc()
        for name, length in lengths.items():
            self._lengths[name].append(byte_to_length(length_to_byte(length)) if length else 0)
        self._added = True
        self.docnum += 1

    def _flush_segment(self):
        self.perdocwriter.close()
        self.write_postings(self._lengths if self.codec.length_stats else {})
        self.fieldwriter.close()

    def write_postings(self, lengths: dict[str, array]) -> None:
        """Write the pooled postings into the segment."""
        write_postings(self.fieldwriter, self.schema, lengths, self.pool)


def write_postings(fieldwriter, schema, lengths: dict[str, array], pool: MemoryPool) -> None:
    """Write the pool's postings into a segment with Whoosh's field writer."""
    current = None
    for fieldname, tbytes, postings in pool.sorted_postings():
        if fieldname != current:
            if current is not None:
                fieldwriter.finish_field()
            fieldwriter.start_field(fieldname, schema[fieldname])
            current, field = fieldname, pool.field(fieldname)
            field_lengths = lengths.get(fieldname)
        fieldwriter.start_term(tbytes)
        write_term(fieldwriter._postwriter, field, postings, field_lengths)
        fieldwriter.finish_term()
    if current is not None:
        fieldwriter.finish_field()


def write_term(writer, field: _FieldPostings, postings: _Postings,
               field_lengths: array | None) -> None:
    """Fill a started postings writer with a term's postings, a whole block at a time.

    Whoosh's finish_postings then writes the last block (or inlines a short list).
    """
    for start, stop, values in field.blocks(postings, writer._blocklimit):
        if start:
            writer._write_block()
        # The block buffer, as add_posting would have left it.
        docs, weights = postings.docs[start:stop], postings.weights[start:stop]
        writer._ids, writer._weights, writer._values = docs, weights, values
        writer._maxweight = max(0, max(weights))
        known = list(filter(None, map(field_lengths.__getitem__, docs))) \
            if field_lengths else []
        writer._minlength = min(known) if known else None
        writer._maxlength = max(known) if known else 0
