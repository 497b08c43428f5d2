"""The passage that matched, as plain-text segments (the template escapes them)."""

from __future__ import annotations

import re
from functools import lru_cache

from docctl.domain.textfold import fold
from docctl.search.analysis import ParsedQuery, normalise
from docctl.search.base import Segment

WIDTH = 220
ELLIPSIS = "\u2026"
# Just after a word's first letter: the character before that letter is not part of a word.
_STARTS_WORD = r"(?<![^\W_].)"
_AFTER = r"(?![^\W_])"
_GAP = r"[\W_]+"


@lru_cache(maxsize=1)
def _variants() -> dict[str, str]:
    """Map each folded letter to a regex class of the letters that fold to it."""
    groups: dict[str, set[str]] = {}
    # Latin (with Vietnamese), Greek and Cyrillic cover what the agencies' documents hold.
    for cp in range(0x20, 0x0530):
        _add(groups, chr(cp))
    for cp in range(0x1E00, 0x1F00):
        _add(groups, chr(cp))
    return {base: "[" + "".join(re.escape(c) for c in sorted(chars)) + "]"
            for base, chars in groups.items()}


def _add(groups: dict[str, set[str]], ch: str) -> None:
    folded = fold(ch)
    if len(folded) == 1 and (ch.isalnum() or folded.isalnum()):
        groups.setdefault(folded, {folded}).add(ch)


def _word_pattern(folded: str) -> str:
    table = _variants()
    return "".join(table.get(c, re.escape(c)) for c in folded)


@lru_cache(maxsize=4096)
def _unit(kind: str, folded: tuple[str, ...]) -> re.Pattern:
    """Compile one clause's pattern; cached by words, which repeat across queries."""
    words = [_word_pattern(w) for w in folded]
    # The word-start check comes after the first letter, not before it: a pattern that opens
    # with a letter class lets the regex engine skip ahead to candidates (3x faster on 8 KB).
    first = _word_pattern(folded[0][:1])
    lead = "(?s)" + first + _STARTS_WORD + words[0][len(first):]
    if kind == "phrase":
        return re.compile(_GAP.join([lead, *words[1:]]) + _AFTER)
    if kind == "prefix":
        return re.compile(lead + r"[^\W_]*")
    return re.compile(lead + _AFTER)


def query_patterns(query: ParsedQuery) -> list[re.Pattern]:
    """Return regexes finding the query's clauses in NFC text, with any diacritics."""
    return [_unit(c.kind, c.folded) for c in query.clauses]


def snippet(text: str, query: ParsedQuery, *, width: int = WIDTH) -> list[Segment]:
    """Return the text around the first match as (text, highlighted) segments."""
    text = normalise(text)
    if not text:
        return []
    patterns = query_patterns(query)
    firsts = [m for m in (p.search(text) for p in patterns) if m]
    if not firsts:
        return [(_squash(_cut_end(text, width)) + (ELLIPSIS if len(text) > width else ""),
                 False)]
    first = min(firsts, key=lambda m: m.start())
    start = _word_start(text, max(0, first.start() - width // 3))
    end = min(len(text), start + width)
    if end < len(text):
        end = max(_word_end(text, end), first.end())
    segments: list[Segment] = [(ELLIPSIS, False)] if start > 0 else []
    cursor = start
    for m_start, m_end in _marks(patterns, text, start, end):
        if m_start > cursor:
            segments.append((_squash(text[cursor:m_start]), False))
        segments.append((_squash(text[m_start:m_end]), True))
        cursor = m_end
    if cursor < end:
        segments.append((_squash(text[cursor:end]), False))
    if end < len(text):
        segments.append((ELLIPSIS, False))
    return [s for s in segments if s[0]]


def _marks(patterns: list[re.Pattern], text: str, start: int, end: int) -> list[tuple]:
    """Return non-overlapping matches in text[start:end]; the longest wins at one place."""
    found = sorted({(m.start(), -m.end()) for p in patterns
                    for m in p.finditer(text, start, end)})
    out: list[tuple[int, int]] = []
    for m_start, neg_end in found:
        if not out or m_start >= out[-1][1]:
            out.append((m_start, -neg_end))
    return out


def _squash(part: str) -> str:
    """Collapse each run of whitespace to one space (split/join: twice a regex's speed)."""
    words = part.split()
    if not words:
        return " " if part else ""
    out = " ".join(words)
    return (" " if part[0].isspace() else "") + out + (" " if part[-1].isspace() else "")


def _cut_end(text: str, width: int) -> str:
    return text if len(text) <= width else text[:_word_end(text, width)]


def _word_start(text: str, pos: int) -> int:
    """Move pos forward to the start of a word (never into the middle of one)."""
    if pos == 0:
        return 0
    space = text.find(" ", pos, pos + 30)
    return space + 1 if space >= 0 else pos


def _word_end(text: str, pos: int) -> int:
    """Move pos back to the end of a word."""
    space = text.rfind(" ", max(0, pos - 30), pos)
    return space if space > 0 else pos
