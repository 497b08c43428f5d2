"""'Did you mean': close words from the vocabulary a user may see, the same for every backend."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from docctl.search.analysis import ParsedQuery

# How many close words of each prefix are checked against the visible documents at most.
MAX_CHECKED = 200
# Shorter words are too ambiguous to correct ("an", "ở").
MIN_CORRECTED = 3


def max_distance(word: str) -> int:
    """Return how many edits a correction of word may need."""
    return 1 if len(word) <= 4 else 2


def distance(a: str, b: str, cap: int) -> int:
    """Return the Levenshtein distance of a and b, or cap + 1 once it exceeds cap."""
    if abs(len(a) - len(b)) > cap:
        return cap + 1
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1,
                               previous[j - 1] + (ca != cb)))
        if min(current) > cap:
            return cap + 1
        previous = current
    return previous[-1]


def close_words(word: str, vocabulary: Iterable[str]) -> list[tuple[int, str]]:
    """Return (distance, term) for terms within reach of word, nearest first."""
    cap = max_distance(word)
    found = []
    for term in vocabulary:
        if term != word and term.isalpha() == word.isalpha():
            d = distance(word, term, cap)
            if d <= cap:
                found.append((d, term))
    found.sort()
    return found[:MAX_CHECKED]


def corrections(query: ParsedQuery, visible_df: Callable[[str], int],
                prefix_terms: Callable[[str], Iterable[str]], limit: int = 3) -> list[str]:
    """Return up to limit corrected queries; only words of visible documents are proposed."""
    replacements: dict[str, list[str]] = {}
    for clause in query.clauses:
        if clause.kind == "prefix":
            continue
        for word in clause.folded:
            if word in replacements or visible_df(word) > 0:
                continue
            ranked = []
            if len(word) >= MIN_CORRECTED:
                ranked = sorted((d, -df, term)
                                for d, term in close_words(word, prefix_terms(word[0]))
                                if (df := visible_df(term)) > 0)
            replacements[word] = [term for _d, _df, term in ranked[:limit]]
    if not any(replacements.values()):
        return []
    out: list[str] = []
    for i in range(limit):
        parts = []
        for clause in query.clauses:
            # An unknown word with no correction is left out of the proposal.
            fixed = tuple(w for w in (_pick(replacements.get(w), i, w) for w in clause.folded)
                          if w)
            if fixed:
                parts.append(clause.render(fixed if fixed != clause.folded else None))
        text = " ".join(parts)
        if text and text not in out:
            out.append(text)
    return out


def _pick(options: list[str] | None, i: int, word: str) -> str | None:
    if options is None:
        return word
    if not options:
        return None
    return options[min(i, len(options) - 1)]
