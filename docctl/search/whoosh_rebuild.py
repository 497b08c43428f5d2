"""Rebuilding a Whoosh index in one segment, with worker processes on a multi-core machine.

Worker processes analyse batches of documents and gather their postings into run files; this
process adds the stored values and writes the segment, every other term's postings written
meanwhile by a forked helper and appended to the postings file.
"""

from __future__ import annotations

import gc
import multiprocessing
import shutil
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from whoosh.codec.whoosh3 import W3FieldWriter, W3TermInfo
from whoosh.util import random_name

from docctl.search.whoosh_bulk import BulkWriter, MemoryPool, index_document, write_term

# Fewer postings are written faster than a helper process starts.
HELPER_POSTINGS = 200_000


def load(ix, batches: Iterable[list], prepare: Callable[[list], list[dict]], *,
         workers: int = 1, timeout: float = 0.0, run_postings: int | None = None) -> int:
    """Add batches of documents to ix as one new segment, in one commit; return the count.

    prepare turns a batch into field dicts (in a worker process when workers > 1).
    """
    kind = _TwoProcessWriter if workers > 1 else BulkWriter
    writer = kind(ix, timeout=timeout, run_postings=run_postings)
    try:
        pool = _process_pool(workers) if workers > 1 else None
        if pool is None:
            for batch in batches:
                for fields in prepare(batch):
                    writer.add_document(**fields)
        else:
            _load_in_workers(writer, pool, batches, prepare, workers)
        count = writer.doc_count()
        writer.commit()
    except BaseException:
        if not writer.is_closed:
            writer.cancel()
        raise
    return count


def _load_in_workers(writer: BulkWriter, pool: ProcessPoolExecutor, batches: Iterable[list],
                     prepare: Callable, workers: int) -> None:
    pending: deque = deque()
    first = writer.docnum
    try:
        for batch in batches:
            job = (prepare, writer.schema, writer.temp_storage(), writer.pool.run_postings,
                   first, batch)
            try:
                pending.append((job, pool.submit(_index_batch, *job)))
            except RuntimeError:   # the pool broke (BrokenProcessPool): go on here
                pending.append((job, None))
            first += len(batch)
            while len(pending) > workers:
                _add_batch(writer, *pending.popleft())
        while pending:
            _add_batch(writer, *pending.popleft())
    finally:
        pool.shutdown(cancel_futures=True)


def _add_batch(writer: BulkWriter, job: tuple, future) -> None:
    try:
        entries, runs, totals = future.result() if future is not None else _index_batch(*job)
    except BrokenProcessPool:   # a worker died: index the batch here rather than fail
        entries, runs, totals = _index_batch(*job)
    if len(entries) != len(job[-1]):
        raise ValueError("prepare must return one field dict per document")
    writer.pool.runs += runs
    for fieldname, total in totals.items():
        writer.pool.field(fieldname).total += total
    for doc_entries in entries:
        writer.add_entries(doc_entries)


def _index_batch(prepare: Callable, schema, tempstore, run_postings: int, first: int,
                 batch: list) -> tuple[list, list[str], dict[str, int]]:
    """Prepare a batch and write its postings to run files, documents numbered from first.

    Runs in a worker: the stored values come back, the postings stay on disk.
    """
    pool = MemoryPool(schema, tempstore, run_postings)
    entries = []
    for docnum, fields in enumerate(prepare(batch), first):
        entries.append(index_document(pool, schema, docnum, fields))
        pool.document_added()
    if pool.count:
        pool.spill()
    return entries, pool.runs, {name: field.total for name, field in pool.fields.items()}


def _process_pool(workers: int) -> ProcessPoolExecutor | None:
    """Return a pool of worker processes, or None where none can start."""
    # Spawn would re-run __main__: only where fork is missing.
    context = _fork() or multiprocessing.get_context("spawn")
    try:
        return ProcessPoolExecutor(workers, mp_context=context)
    except (OSError, ValueError, NotImplementedError):
        return None


def _fork():
    """Return the fork context, or None where processes cannot fork."""
    # Forked children only read and write their own files and end with os._exit: they never
    # touch the parent's threads, files or database connections. Garbage is collected first:
    # no child may flush a buffered file the parent dropped but had not closed yet.
    if "fork" not in multiprocessing.get_all_start_methods():
        return None
    gc.collect()
    return multiprocessing.get_context("fork")


class _TwoProcessWriter(BulkWriter):
    """A bulk writer whose postings two processes write: every other term each."""

    def write_postings(self, lengths):
        """Write even terms' postings here and odd ones' in a forked helper, then index all."""
        total = sum(field.total for field in self.pool.fields.values())
        context = _fork() if total >= HELPER_POSTINGS else None
        if context is None or not isinstance(self.fieldwriter, W3FieldWriter):
            return super().write_postings(lengths)
        receiver, sender = context.Pipe(duplex=False)
        part = f"{random_name()}.bulkpart"
        helper = context.Process(target=_write_half,
                                 args=(self, lengths, part, receiver, sender), daemon=True)
        try:
            helper.start()
        except (AssertionError, OSError):   # a daemon process, or no process left to fork
            receiver.close()
            sender.close()
            return super().write_postings(lengths)
        sender.close()
        postfile = self.fieldwriter._postfile
        try:
            keys, mine = _write_terms(self, lengths, 0, postfile)
            theirs = receiver.recv()
        except EOFError:
            theirs = None
        finally:
            receiver.close()
            helper.join()
        if theirs is None or helper.exitcode != 0:   # the helper died: write its half here
            theirs, base = _write_terms(self, lengths, 1, postfile)[1], 0
        else:
            base = postfile.tell()
            with self.temp_storage().open_file(part).raw_file() as f:
                shutil.copyfileobj(f, postfile, 1 << 20)
            self.temp_storage().delete_file(part)
        _index_terms(self.fieldwriter, self.schema, keys, mine, theirs, base)


def _write_terms(writer: BulkWriter, lengths: dict, half: int,
                 postfile) -> tuple[list[tuple[str, bytes]], list[W3TermInfo]]:
    """Write the postings of every other term (from the first or the second) to postfile.

    Return every term's (fieldname, term bytes) and the written terms' infos, in order.
    """
    postings_writer = writer.codec.postings_writer(postfile)
    keys, infos = [], []
    for i, (fieldname, tbytes, postings) in enumerate(writer.pool.sorted_postings()):
        keys.append((fieldname, tbytes))
        if i % 2 == half:
            postings_writer.start_postings(writer.schema[fieldname].format, W3TermInfo())
            write_term(postings_writer, writer.pool.field(fieldname), postings,
                       lengths.get(fieldname))
            infos.append(postings_writer.finish_postings())
    return keys, infos


def _write_half(writer: BulkWriter, lengths: dict, part: str, receiver, sender) -> None:
    """Write the postings of the second of every two terms to a part file (in the helper)."""
    receiver.close()   # the parent's end: when the parent closes it, sending fails here
    postfile = writer.temp_storage().create_file(part)
    infos = _write_terms(writer, lengths, 1, postfile)[1]
    postfile.close()
    sender.send(infos)


class _Written:
    """Stands for a postings writer: the term's postings are already in the file."""

    def __init__(self, terminfo: W3TermInfo):
        self.terminfo = terminfo

    def start_postings(self, format_, terminfo) -> None:
        """Start nothing: the postings are written."""

    def finish_postings(self) -> W3TermInfo:
        """Return the term's info."""
        return self.terminfo


def _index_terms(fieldwriter: W3FieldWriter, schema, keys: list, mine: list, theirs: list,
                 base: int) -> None:
    """Add every term's info to the segment's term index, in order (theirs moved by base)."""
    if len(mine) + len(theirs) != len(keys):
        raise RuntimeError("the postings writer helper lost terms")
    current = None
    for i, (fieldname, tbytes) in enumerate(keys):
        if fieldname != current:
            if current is not None:
                fieldwriter.finish_field()
            fieldwriter.start_field(fieldname, schema[fieldname])
            current = fieldname
        terminfo = (mine if i % 2 == 0 else theirs)[i // 2]
        if i % 2 and not terminfo.is_inlined():
            offset, length = terminfo.extent()
            terminfo.set_extent(base + offset, length)
        fieldwriter._postwriter = _Written(terminfo)
        fieldwriter.start_term(tbytes)
        fieldwriter.finish_term()
    if current is not None:
        fieldwriter.finish_field()
