"""The quotable part of a paragraph: the best window of whole sentences, with highlights."""

from __future__ import annotations

import re
from collections.abc import Iterable

SENTENCE_END = re.compile(r"[^。！？；!?;]*[。！？；!?;]+[”」』）)]*|[^。！？；!?;]+$")
MIN_CHARS = 60
MAX_CHARS = 200


OPENING, CLOSING = "“「『（(", "”」』）)"


def sentences(text: str) -> list[tuple[int, int]]:
    """Start and end offsets of each sentence, closing quotes kept with their sentence. A
    sentence ending inside quotation marks or brackets runs on to where they close, so a
    quotation never starts or ends in the middle of a quoted passage."""
    out: list[tuple[int, int]] = []
    depth = 0
    for m in SENTENCE_END.finditer(text):
        if not m.group().strip():
            continue
        if depth > 0 and out:
            out[-1] = (out[-1][0], m.end())
        else:
            out.append((m.start(), m.end()))
        part = m.group()
        depth = max(depth + sum(map(part.count, OPENING)) - sum(map(part.count, CLOSING)), 0)
    return out


def find_spans(text: str, needles: Iterable[str]) -> list[tuple[int, int]]:
    """Non-overlapping [start, end) spans of the needles, longest first where they overlap."""
    spans: list[tuple[int, int]] = []
    for needle in sorted({n for n in needles if n}, key=len, reverse=True):
        start = text.find(needle)
        while start >= 0:
            end = start + len(needle)
            if all(end <= s or start >= e for s, e in spans):
                spans.append((start, end))
            start = text.find(needle, start + 1)
    return sorted(spans)


def best_window(
    text: str, weights: dict[str, float], phrase_spans: list[tuple[int, int]] | None = None
) -> tuple[int, int]:
    """The run of whole sentences (≤ MAX_CHARS where possible) holding most query weight.

    A phrase match, when there is one, must be inside the window: it is what the user asked.
    """
    if len(text) <= MAX_CHARS:
        return 0, len(text)
    bounds = sentences(text)
    spans = find_spans(text, weights)
    best, best_score = (bounds[0][0], bounds[0][1]), -1.0
    for i in range(len(bounds)):
        for j in range(i, len(bounds)):
            start, end = bounds[i][0], bounds[j][1]
            if end - start > MAX_CHARS and j > i:
                break
            if end - start < MIN_CHARS and j + 1 < len(bounds):
                continue
            score = sum(weights.get(text[s:e], 0.0) for s, e in spans if start <= s and e <= end)
            if phrase_spans and any(start <= s and e <= end for s, e in phrase_spans):
                score += 1000.0
            # Among equals, the shorter window reads better as a quote.
            score -= (end - start) / 100000
            if score > best_score:
                best, best_score = (start, end), score
    start, end = best
    if end - start > MAX_CHARS:
        end = start + MAX_CHARS
        cut = _cut(text, start, end)
        # The phrase asked for stays inside, cut or not.
        if not any(start <= s < end and e > cut for s, e in phrase_spans or []):
            end = cut
    return start, end


def _cut(text: str, start: int, end: int) -> int:
    """Where to cut a sentence too long to quote whole: not inside quotation marks (before
    the last one still open), unless that would leave too little to quote."""
    depth, opened = 0, -1
    for i in range(start, end):
        if text[i] in OPENING:
            depth, opened = depth + 1, i if depth == 0 else opened
        elif text[i] in CLOSING and depth:
            depth -= 1
    return opened if depth and opened - start >= MIN_CHARS else end


def make_snippet(
    text: str,
    weights: dict[str, float],
    phrase_spans: list[tuple[int, int]] | None = None,
    bold: frozenset[str] | None = None,
) -> tuple[str, tuple[tuple[int, int], ...]]:
    """The snippet and the [start, end) offsets of the matched terms inside it (of the
    `bold` ones only, when given: the window is chosen by every term, the eye is led to the
    telling ones)."""
    start, end = best_window(text, weights, phrase_spans)
    snippet = text[start:end].strip()
    shift = start + (len(text[start:end]) - len(text[start:end].lstrip()))
    marks = [(s - shift, e - shift) for s, e in (phrase_spans or []) if start <= s and e <= end]
    for s, e in find_spans(snippet, weights if bold is None else bold):
        if all(e <= ms or s >= me for ms, me in marks):
            marks.append((s, e))
    marks = [(s, e) for s, e in marks if 0 <= s < e <= len(snippet)]
    return snippet, tuple(sorted(marks))
