"""Tantivy's own analysis: Python lowercases in NFC, tantivy splits words and folds them in Rust.

The words equal analysis.words() and their folded forms equal analysis.fold_word() for every
Vietnamese letter, so both backends find the same revisions; a query's words pass through the
very analyzers that indexed the text, so the index and its queries cannot drift apart.

Where tantivy differs from analysis.py, on purpose (cheap, and never for Vietnamese):
- Folding is Lucene's ASCII folding: it folds more Latin letters (ß→ss, æ→ae, ø→o, ł→l, œ→oe,
  ² → 2, full-width letters) and none outside Latin (Greek ά, Cyrillic й keep their marks). A
  few small capitals and ǥ/ǧ fold to upper case; queries fold alike, so they still match.
- Words end at characters that are not alphanumeric in Rust, which counts the vowel signs of
  Indic and Thai scripts and circled letters (Ⓐ) as letters; Python splits there.
- The word limit counts bytes of the folded word: the same as characters for Vietnamese and
  Latin words, a third of them for unfolded scripts (CJK runs over 21 characters are dropped).
"""

from __future__ import annotations

from dataclasses import replace
from typing import NamedTuple

import tantivy
from tantivy import Filter, TextAnalyzerBuilder, Tokenizer

from docctl.search import analysis
from docctl.search.analysis import MAX_WORD, Clause, ParsedQuery, normalise
from docctl.search.base import IndexDoc

WORDS = "docctl_words"
FOLDED = "docctl_folded"
CODES = "docctl_codes"
# Bytes: a word of MAX_WORD characters takes at most 4 bytes each in UTF-8, and the folded
# field (ASCII for Vietnamese) decides which words a query can find at all.
_MAX_WORD_BYTES = 4 * MAX_WORD + 1
# Separators of codes become "-" and digits "0", so a code's anchor (analysis._CODE_ANCHOR)
# reads b"-0"; spaces and line breaks stay, everything else becomes "a".
_ANCHOR_BYTES = bytes(0x2D if chr(b) in "-./_" else 0x30 if chr(b) in "0123456789" else
                      b if chr(b) in " \n" else 0x61 for b in range(256))
# Characters that tantivy's regex syntax reads as operators.
_REGEX_META = set("\\.+*?()|[]{}^$#&-~")


def analyzers() -> dict[str, tantivy.TextAnalyzer]:
    """Return the analyzers the schema names, to register on every index opened."""
    # No LowerCaser: Python lowers whole strings (final sigma, İ) faster than it lowers tokens.
    return {
        WORDS: TextAnalyzerBuilder(Tokenizer.simple())
        .filter(Filter.remove_long(_MAX_WORD_BYTES)).build(),
        FOLDED: TextAnalyzerBuilder(Tokenizer.simple()).filter(Filter.ascii_fold())
        .filter(Filter.remove_long(MAX_WORD + 1)).build(),
        # Code keys are analysed by analysis.py already (letters and digits, joined).
        CODES: TextAnalyzerBuilder(Tokenizer.whitespace()).build(),
    }


def lowered(text: str | None) -> str:
    """Return text lowercased in NFC, as analysis.words() reads it before splitting."""
    return normalise(normalise(text).lower())


class Prepared(NamedTuple):
    """What Python still computes of a document before tantivy analyses it."""

    sections: list[str]
    code_key: str
    codes: str
    text: bytes


def prepare(doc: IndexDoc) -> Prepared:
    """Return a document's lowered sections (title twice, code, metadata, text) and codes."""
    title, text = normalise(doc.title), normalise(doc.text)
    raw = doc.text.encode()
    # One value each in a multi-valued field: tantivy leaves a position between values, so a
    # phrase cannot run from one section into the next (analysis.py puts SECTION there).
    low_title = normalise(title.lower())
    sections = [part for part in (low_title, low_title, lowered(doc.code), lowered(doc.meta),
                                  normalise(text.lower())) if part]
    # NFC strings joined by a space are NFC: analysis reads normalise(f"{title} {text}").
    nfc = f"{title} ".encode() + (raw if text is doc.text else text.encode())
    key = analysis.code_key(doc.code)
    found = [key] + [k for k in analysis.mentioned_codes(code_chunks(nfc)) if k != key]
    return Prepared(sections, key, " ".join(k for k in found if k), raw)


def code_chunks(raw: bytes) -> str:
    """Return the chunks of text analysis.mentioned_codes() reads, joined by spaces.

    It reads only the chunks (between spaces and line breaks) that hold a separator before a
    digit; finding those in UTF-8 bytes costs a tenth of its regex scan of the whole text.
    """
    marked = raw.translate(_ANCHOR_BYTES)
    at = marked.find(b"-0")
    chunks = []
    while at >= 0:
        start = max(marked.rfind(b" ", 0, at), marked.rfind(b"\n", 0, at)) + 1
        end = min((i for i in (marked.find(b" ", at), marked.find(b"\n", at)) if i >= 0),
                  default=len(marked))
        chunks.append(raw[start:end])
        at = marked.find(b"-0", end)
    return b" ".join(chunks).decode("utf-8")


class QueryWords:
    """Read a query's words with the analyzers of the index it searches."""

    def __init__(self, found: dict[str, tantivy.TextAnalyzer]):
        self._exact, self._folded = found[WORDS], found[FOLDED]

    def clause(self, clause: Clause) -> Clause | None:
        """Return the clause in index terms, or None when a word cannot be in the index."""
        exact, folded = [], []
        for word in clause.exact:
            found = self._folded.analyze(word)
            if not found:
                return None   # too long: the index never holds it
            same = self._exact.analyze(word)
            exact += same if len(same) == len(found) else found
            folded += found
        kind = clause.kind
        if len(folded) > len(clause.exact):
            kind = "phrase"   # one word read as several (not seen with analysis.words())
        return Clause(kind, tuple(exact), tuple(folded))

    def for_suggestions(self, query: ParsedQuery) -> ParsedQuery:
        """Return the query with each word folded as the index folds it, word for word."""
        clauses = []
        for clause in query.clauses:
            folded = tuple(self._one(word, fallback)
                           for word, fallback in zip(clause.exact, clause.folded, strict=True))
            clauses.append(replace(clause, folded=folded))
        return replace(query, clauses=tuple(clauses))

    def _one(self, word: str, fallback: str) -> str:
        found = self._folded.analyze(word)
        return found[0] if len(found) == 1 else fallback


def regex_literal(term: str) -> str:
    """Return term escaped for tantivy's regex syntax."""
    return "".join("\\" + c if c in _REGEX_META else c for c in term)
