"""Word-level redlines between two revisions' extracted text (pure: no app, no database).

Words are whitespace-separated tokens of the NFC text (a Vietnamese syllable is a word);
punctuation stays attached to its word, so a changed comma shows as a changed word. A
paragraph break is a token of its own, so paragraphs keep their shape. To stay fast on long
documents, paragraphs are matched first and words only within changed paragraphs.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from difflib import SequenceMatcher
from itertools import zip_longest

__all__ = ["DiffOp", "SideRow", "changed_words", "diff_words", "side_by_side", "tokenize"]

PARA = "\n"
EQUAL, INSERT, DELETE, COLLAPSED, CHANGE = "equal", "insert", "delete", "collapsed", "change"
# Word-level matching is quadratic in the worst case; beyond this many tokens a changed
# stretch is compared in line-aligned chunks (a valid, slightly less minimal redline).
MAX_BLOCK_TOKENS = 1500


@dataclass(frozen=True)
class DiffOp:
    """A stretch of text: kept, inserted, deleted, or collapsed (unchanged, not shown)."""

    kind: str
    text: str
    count: int   # words in the stretch; for collapsed, the words hidden


@dataclass(frozen=True)
class SideRow:
    """One paragraph pair of the side-by-side view (kind: equal, change or collapsed)."""

    kind: str
    left: tuple[DiffOp, ...] = ()
    right: tuple[DiffOp, ...] = ()
    count: int = 0   # for collapsed: the unchanged paragraphs hidden


def tokenize(text: str) -> list[str]:
    """Split text into words, with a paragraph-break token after each non-empty line."""
    tokens: list[str] = []
    for line in unicodedata.normalize("NFC", text or "").splitlines():
        words = line.split()
        if words:
            tokens.extend(words)
            tokens.append(PARA)
    return tokens


def _line_spans(tokens: list[str]) -> tuple[list[str], list[int]]:
    """Return each line's text (the match key) and the token index where each line starts."""
    keys, starts, start = [], [], 0
    for index, token in enumerate(tokens):
        if token == PARA:
            keys.append(" ".join(tokens[start:index]))
            starts.append(start)
            start = index + 1
    starts.append(len(tokens))
    return keys, starts


def _para_cuts(tokens: list[str], parts: int) -> list[int]:
    """Return up to parts-1 cut points at paragraph breaks, spread evenly."""
    cuts, step = [], len(tokens) / parts
    for k in range(1, parts):
        target = int(k * step)
        at = next((i + 1 for i in range(target, len(tokens)) if tokens[i] == PARA), len(tokens))
        if not cuts or at > cuts[-1]:
            cuts.append(at)
    return cuts


def _word_ops(a: list[str], b: list[str], out: list[tuple[str, str]]) -> None:
    """Append the word-level edit script of a → b to out."""
    total = len(a) + len(b)
    if total > MAX_BLOCK_TOKENS and a and b:
        parts = -(-total // MAX_BLOCK_TOKENS)
        a_cuts, b_cuts = _para_cuts(a, parts), _para_cuts(b, parts)
        if a_cuts and len(a_cuts) == len(b_cuts):
            for i1, i2, j1, j2 in zip([0, *a_cuts], [*a_cuts, len(a)], [0, *b_cuts],
                                      [*b_cuts, len(b)], strict=True):
                _plain_word_ops(a[i1:i2], b[j1:j2], out)
            return
    _plain_word_ops(a, b, out)


def _plain_word_ops(a: list[str], b: list[str], out: list[tuple[str, str]]) -> None:
    matcher = SequenceMatcher(None, a, b, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            out.extend((EQUAL, t) for t in a[i1:i2])
        else:
            out.extend((DELETE, t) for t in a[i1:i2])
            out.extend((INSERT, t) for t in b[j1:j2])


def _blocks(a: str, b: str):
    """Yield (tag, old lines, new lines) from matching paragraphs; lines end with PARA."""
    a_tok, b_tok = tokenize(a), tokenize(b)
    a_keys, a_starts = _line_spans(a_tok)
    b_keys, b_starts = _line_spans(b_tok)
    matcher = SequenceMatcher(None, a_keys, b_keys, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        yield (tag, [a_tok[a_starts[i]:a_starts[i + 1]] for i in range(i1, i2)],
               [b_tok[b_starts[j]:b_starts[j + 1]] for j in range(j1, j2)])


def _replace(a_lines: list[list[str]], b_lines: list[list[str]],
             out: list[tuple[str, str]]) -> None:
    """Append the word-level script of a block of changed paragraphs to out."""
    if len(a_lines) == len(b_lines):
        # As many paragraphs on each side: edited in place (a rename, a re-worded list).
        for a_line, b_line in zip(a_lines, b_lines, strict=True):
            _word_ops(a_line, b_line, out)
    else:
        _word_ops([t for line in a_lines for t in line], [t for line in b_lines for t in line],
                  out)


def _stream(a: str, b: str) -> list[tuple[str, str]]:
    """Return (kind, token) pairs: paragraphs matched first, then words inside changes."""
    out: list[tuple[str, str]] = []
    for tag, a_lines, b_lines in _blocks(a, b):
        if tag == "equal":
            out.extend((EQUAL, t) for line in a_lines for t in line)
        elif tag == "replace":
            _replace(a_lines, b_lines, out)
        else:
            out.extend((DELETE, t) for line in a_lines for t in line)
            out.extend((INSERT, t) for line in b_lines for t in line)
    return out


def _join(tokens: list[str]) -> str:
    parts: list[str] = []
    for token in tokens:
        if token == PARA:
            parts.append(PARA)
        else:
            if parts and parts[-1] != PARA:
                parts.append(" ")
            parts.append(token)
    return "".join(parts)


def _op(kind: str, tokens: list[str]) -> DiffOp:
    return DiffOp(kind, _join(tokens), sum(1 for t in tokens if t != PARA))


def _runs(stream: list[tuple[str, str]]) -> list[tuple[str, list[str]]]:
    runs: list[tuple[str, list[str]]] = []
    for kind, token in stream:
        if runs and runs[-1][0] == kind:
            runs[-1][1].append(token)
        else:
            runs.append((kind, [token]))
    return runs


def _split_words(tokens: list[str], words: int, *, from_end: bool) -> int:
    """Return the token index that keeps `words` words at the start (or the end)."""
    seen = 0
    indices = range(len(tokens) - 1, -1, -1) if from_end else range(len(tokens))
    for i in indices:
        if tokens[i] != PARA:
            seen += 1
            if seen > words:
                return i + 1 if from_end else i
    return 0 if from_end else len(tokens)


def diff_words(a: str, b: str, context: int | None = 8) -> list[DiffOp]:
    """Return the inline redline of a → b; unchanged stretches keep `context` words each side.

    Join the ops' texts with a space to read them; a "\\n" inside a text is a paragraph break.
    context=None keeps every unchanged word.
    """
    runs = _runs(_stream(a, b))
    ops: list[DiffOp] = []
    for index, (kind, tokens) in enumerate(runs):
        words = sum(1 for t in tokens if t != PARA)
        if kind != EQUAL or context is None or words <= 2 * context + 2:
            ops.append(_op(kind, tokens))
            continue
        first, last = index == 0, index == len(runs) - 1
        head = 0 if first else _split_words(tokens, context, from_end=False)
        tail = len(tokens) if last else _split_words(tokens, context, from_end=True)
        if head:
            ops.append(_op(EQUAL, tokens[:head]))
        ops.append(_op(COLLAPSED, tokens[head:tail]))
        if tail < len(tokens):
            ops.append(_op(EQUAL, tokens[tail:]))
    return [op for op in ops if op.text or op.kind == COLLAPSED]


def changed_words(ops: list[DiffOp]) -> tuple[int, int]:
    """Return (words inserted, words deleted)."""
    return (sum(op.count for op in ops if op.kind == INSERT),
            sum(op.count for op in ops if op.kind == DELETE))


def _segments(words: list[tuple[str, str]]) -> tuple[DiffOp, ...]:
    return tuple(_op(kind, tokens) for kind, tokens in _runs(words))


def _pair_lines(stream: list[tuple[str, str]]) -> list[SideRow]:
    """Turn a word-level script into paragraph rows, pairing lines where both sides agree."""
    rows: list[SideRow] = []
    left_lines: list[list[tuple[str, str]]] = []
    right_lines: list[list[tuple[str, str]]] = []
    cur_l: list[tuple[str, str]] = []
    cur_r: list[tuple[str, str]] = []

    def row(left: list[tuple[str, str]], right: list[tuple[str, str]]) -> SideRow:
        changed = (not left or not right or any(k != EQUAL for k, _ in left + right)
                   or [t for _, t in left] != [t for _, t in right])
        return SideRow(CHANGE if changed else EQUAL, _segments(left), _segments(right))

    def flush(synced: bool) -> None:
        # The last line of each side ends at the same (kept) paragraph break: pair those;
        # whole paragraphs deleted or inserted before it pair up in order.
        last = (left_lines.pop(), right_lines.pop()) if synced else None
        rows.extend(row(left, right) for left, right in
                    zip_longest(left_lines, right_lines, fillvalue=[]))
        if last:
            rows.append(row(*last))
        left_lines.clear()
        right_lines.clear()

    for kind, token in stream:
        if token == PARA:
            if kind != INSERT:
                left_lines.append(cur_l)
                cur_l = []
            if kind != DELETE:
                right_lines.append(cur_r)
                cur_r = []
            if kind == EQUAL:
                flush(True)
        else:
            if kind != INSERT:
                cur_l.append((kind, token))
            if kind != DELETE:
                cur_r.append((kind, token))
    if cur_l:
        left_lines.append(cur_l)
    if cur_r:
        right_lines.append(cur_r)
    flush(False)
    return rows


def side_by_side(a: str, b: str, context: int | None = 2) -> list[SideRow]:
    """Return paragraph rows (old left, new right) with changed words marked inside each.

    Unchanged paragraphs farther than `context` rows from a change collapse into one row.
    """
    rows: list[SideRow] = []
    for tag, a_lines, b_lines in _blocks(a, b):
        if tag == "equal":   # the bulk of a long document: one row per paragraph, no words
            rows.extend(SideRow(EQUAL, (op := (_op(EQUAL, line[:-1]),)), op)
                        for line in a_lines)
        elif tag == "replace":
            stream: list[tuple[str, str]] = []
            _replace(a_lines, b_lines, stream)
            rows.extend(_pair_lines(stream))
        else:
            rows.extend(SideRow(CHANGE, (_op(DELETE, line[:-1]),), ()) for line in a_lines)
            rows.extend(SideRow(CHANGE, (), (_op(INSERT, line[:-1]),)) for line in b_lines)
    return rows if context is None else _collapse_rows(rows, context)


def _collapse_rows(rows: list[SideRow], context: int) -> list[SideRow]:
    changed = [i for i, row in enumerate(rows) if row.kind != EQUAL]
    keep = set()
    for i in changed:
        keep.update(range(max(0, i - context), min(len(rows), i + context + 1)))
    out: list[SideRow] = []
    hidden = 0
    for i, row in enumerate(rows):
        if i in keep:
            if hidden:
                out.append(SideRow(COLLAPSED, count=hidden))
                hidden = 0
            out.append(row)
        else:
            hidden += 1
    if hidden:
        out.append(SideRow(COLLAPSED, count=hidden))
    return out
