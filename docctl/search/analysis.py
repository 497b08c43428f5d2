"""Vietnamese analysis shared by every backend: words, folding, codes and the user's query.

Both backends index the same pre-analysed strings (words joined by single spaces) and split
them on whitespace only, so they fold Vietnamese identically and no library analyzer can drop
a syllable ("an", "in", "ở") or split an NFD word.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from docctl.domain.textfold import fold
from docctl.search.base import IndexDoc

MAX_QUERY_CHARS = 200
MAX_TERMS = 20
# Longer "words" are noise (base64, hashes); dropping them keeps both engines' limits away.
MAX_WORD = 64
MIN_PREFIX = 2
# Never a word, so a phrase cannot run from the title into the text.
SECTION = "\u00b6"

_WORD = re.compile(r"[^\W_]+")
_QUERY_WORD = re.compile(r"([^\W_]+)(\*?)")
_QUOTES = "\"\u201c\u201d\u201e\u00ab\u00bb"
# Codes written inside a text: letters and digits joined by separators (BM-07-02, QT.01).
_CODE_IN_TEXT = re.compile(r"(?<![^\W_])[^\W_]+(?:[./_-][^\W_]+)+")
_CODE_ANCHOR = re.compile(r"[-./_][0-9]")
_MAX_MENTIONED_CODES = 200
_FOLD_CACHE: dict[str, str] = {}
_FOLD_CACHE_MAX = 300_000
# Fast paths (C-level string methods; Python regexes over 8 KB of Vietnamese cost ~1 ms):
# ASCII bytes other than letters and digits become spaces, UTF-8 bytes of other letters stay.
_ASCII_SEPARATORS = bytes(b if chr(b).isalnum() or b >= 0x80 else 0x20 for b in range(256))
# Starts with a literal space, which the regex engine finds fast (the first word is apart).
_LONG_WORD = re.compile(f" [^ ]{{{MAX_WORD + 1}}}")
# Combining marks of Vietnamese (and of common Latin letters), counted to prove a fast fold.
_MARKS = "\u0300\u0301\u0302\u0303\u0304\u0306\u0308\u0309\u030a\u030b\u030c\u031b" \
         "\u0323\u0327\u0328"


def normalise(text: str | None) -> str:
    """Return text in NFC (None becomes '')."""
    return unicodedata.normalize("NFC", text or "")


def words(text: str | None) -> list[str]:
    """Return the lowercased NFC words of text, in order."""
    lowered = normalise(normalise(text).lower())
    return [w for w in _WORD.findall(lowered) if len(w) <= MAX_WORD]


def joined_words(text: str | None) -> str:
    """Return " ".join(words(text)), quickly for ordinary text."""
    lowered = normalise(normalise(text).lower())
    spaced = lowered.encode("utf-8").translate(_ASCII_SEPARATORS).decode("utf-8")
    # Only letters and digits left between ASCII separators: the words are the chunks.
    if spaced.replace(" ", "").isalnum():
        joined = spaced
        while "  " in joined:
            joined = joined.replace("  ", " ")
        joined = joined.strip(" ")
        first = joined.find(" ")
        if (first if first >= 0 else len(joined)) <= MAX_WORD and not _LONG_WORD.search(joined):
            return joined
    return " ".join(words(lowered))


def fold_word(word: str) -> str:
    """Fold one lowercased word (diacritics away, đ→d), memoised: vocabularies are small."""
    folded = _FOLD_CACHE.get(word)
    if folded is None:
        folded = "".join(fold(word).split()) or word
        if len(_FOLD_CACHE) < _FOLD_CACHE_MAX:
            _FOLD_CACHE[word] = folded
    return folded


def fold_words(items: list[str]) -> list[str]:
    """Fold each word of a list."""
    return [fold_word(w) for w in items]


def fold_joined(joined: str) -> str:
    """Fold words joined by single spaces (as joined_words returns them), quickly."""
    decomposed = unicodedata.normalize("NFD", joined.replace("\u0111", "d"))
    plain = decomposed.encode("ascii", "ignore")
    # Safe when every character dropped was one of the marks: then it equals fold per word.
    if len(decomposed) - len(plain) == sum(map(decomposed.count, _MARKS)):
        return plain.decode("ascii")
    return " ".join(fold_word(w) for w in joined.split(" ")) if joined else ""


def code_key(code: str | None) -> str:
    """Return a code with separators, case and diacritics gone: 'BM-07-02' → 'bm0702'."""
    return "".join(fold_words(words(code)))


def mentioned_codes(text: str) -> list[str]:
    """Return the code keys of code-like tokens in text (letters and digits, joined)."""
    found: dict[str, None] = {}
    last_chunk = -2   # not -1: that is where a chunk at the very start of the text begins
    # Look only around a separator next to a digit: a full regex scan costs too much.
    for anchor in _CODE_ANCHOR.finditer(text):
        start = max(text.rfind(" ", 0, anchor.start()), text.rfind("\n", 0, anchor.start()))
        if start == last_chunk:
            continue
        last_chunk = start
        end = min((i for i in (text.find(" ", anchor.end()), text.find("\n", anchor.end()))
                   if i >= 0), default=len(text))
        for match in _CODE_IN_TEXT.finditer(text, start + 1, end):
            raw = match.group(0)
            if any(c.isdigit() for c in raw) and any(c.isalpha() for c in raw):
                found.setdefault(code_key(raw), None)
        if len(found) >= _MAX_MENTIONED_CODES:
            break
    return list(found)


@dataclass(frozen=True)
class Analysed:
    """The index fields of one document, as space-separated words."""

    exact: str
    folded: str
    codes: str
    code_key: str


def analyse(doc: IndexDoc) -> Analysed:
    """Return the searchable fields of a document: title, code, metadata and text."""
    title = joined_words(doc.title)
    # The title twice: its words rank higher, at no cost of a field of their own per query.
    parts = (title, title, joined_words(doc.code), joined_words(doc.meta),
             joined_words(doc.text))
    sections = [part for part in parts if part]
    # The section mark is kept out of the fold: it is not a letter.
    exact = f" {SECTION} ".join(sections)
    folded = f" {SECTION} ".join(fold_joined(part) for part in sections)
    key = code_key(doc.code)
    codes = [key] + [k for k in mentioned_codes(normalise(f"{doc.title} {doc.text}"))
                     if k != key]
    return Analysed(exact=exact, folded=folded, codes=" ".join(k for k in codes if k),
                    code_key=key)


def analyse_batch(docs: list[IndexDoc]) -> list[Analysed]:
    """Analyse a list of documents (a unit of work for a worker process)."""
    return [analyse(doc) for doc in docs]


@dataclass(frozen=True)
class Clause:
    """One required part of a query: a word, a prefix or a phrase, exact and folded."""

    kind: str  # "word" | "prefix" | "phrase"
    exact: tuple[str, ...]
    folded: tuple[str, ...]

    @property
    def has_diacritics(self) -> bool:
        """Tell whether exact words differ from folded ones (only then can exact rank)."""
        return self.exact != self.folded

    @property
    def marked_words(self) -> list[str]:
        """Return the exact words that carry diacritics (the only ones the exact field ranks)."""
        return [w for w, f in zip(self.exact, self.folded, strict=True) if w != f]

    @property
    def may_be_code(self) -> bool:
        """Tell whether the clause could be a code mentioned in a text (it has a digit)."""
        return self.kind != "phrase" and any(c.isdigit() for c in self.folded[0])

    def render(self, folded: tuple[str, ...] | None = None) -> str:
        """Return the clause as a user would type it."""
        ws = folded or self.exact
        if self.kind == "phrase":
            return '"' + " ".join(ws) + '"'
        return ws[0] + ("*" if self.kind == "prefix" else "")


@dataclass(frozen=True)
class ParsedQuery:
    """A user's query as clauses (all required) plus the whole query read as a code."""

    text: str
    clauses: tuple[Clause, ...]
    code_key: str = ""
    code_prefix: bool = False

    @property
    def empty(self) -> bool:
        """Tell whether nothing searchable was typed."""
        return not self.clauses


def clean_query(q: str | None) -> str:
    """Return the query NFC-normalised, single-spaced and capped in length."""
    text = " ".join(normalise(q).split())
    return text[:MAX_QUERY_CHARS]


def _parts(text: str) -> list[tuple[bool, str]]:
    """Split text into (is_phrase, part); a quote without its partner is plain text."""
    parts: list[tuple[bool, str]] = []
    plain, i = [], 0
    while i < len(text):
        ch = text[i]
        if ch in _QUOTES:
            end = next((j for j in range(i + 1, len(text)) if text[j] in _QUOTES), -1)
            if end > 0:
                parts.append((False, "".join(plain)))
                parts.append((True, text[i + 1:end]))
                plain, i = [], end + 1
                continue
        plain.append(ch)
        i += 1
    parts.append((False, "".join(plain)))
    return [(is_phrase, part) for is_phrase, part in parts if part]


def parse_query(q: str | None) -> ParsedQuery:
    """Read a query from its tokens; syntax characters are plain text, never errors."""
    text = clean_query(q)
    clauses: list[Clause] = []
    seen: set[tuple[str, tuple[str, ...]]] = set()
    budget = MAX_TERMS
    all_words: list[str] = []
    last_prefix = False

    def add(kind: str, ws: list[str]) -> None:
        nonlocal budget, last_prefix
        ws = ws[:budget]
        if not ws:
            return
        if kind == "phrase" and len(ws) == 1:
            kind = "word"
        budget -= len(ws)
        all_words.extend(ws)
        last_prefix = kind == "prefix"
        clause = Clause(kind, tuple(ws), tuple(fold_words(ws)))
        if (kind, clause.folded + clause.exact) not in seen:
            seen.add((kind, clause.folded + clause.exact))
            clauses.append(clause)

    for is_phrase, part in _parts(text):
        if is_phrase:
            add("phrase", words(part))
            continue
        lowered = normalise(normalise(part).lower())
        for match in _QUERY_WORD.finditer(lowered):
            word, star = match.groups()
            add("prefix" if star and len(word) >= MIN_PREFIX else "word", [word])
    key = "".join(fold_words(all_words)) if len(all_words) <= 8 else ""
    if not any(c.isdigit() for c in key):
        key = ""   # codes hold digits; without one the words alone find the document
    return ParsedQuery(text=text, clauses=tuple(clauses), code_key=key[:MAX_WORD],
                       code_prefix=last_prefix and len(key) >= MIN_PREFIX)

