"""Encoding damage mended from the corpus itself: where the words around a garbled run
stand elsewhere with one and the same clean text between them (劳动奖芦@得者 beside
劳动奖章获得者), that text is what was meant. Anything less certain stays marked."""

from __future__ import annotations

import re
from dataclasses import dataclass

from retrieval.index.snapshot import Snapshot
from retrieval.ingest.clean import damaged_spans
from retrieval.text import normalize

# Characters of context that must match before and after a garbled run (what follows it
# is often punctuation that differs), and the most a mended run may hold.
CONTEXT = 3
AFTER = 1
LONGEST = 6
# Paragraphs holding the left context that are looked at, at the most, to find the run.
READ_AT_MOST = 100


@dataclass(frozen=True)
class Mend:
    """[start, end) of a garbled run in a text, and the clean text that replaces it."""

    start: int
    end: int
    text: str


def mends(snapshot: Snapshot, text: str) -> list[Mend]:
    """The garbled runs of a text that the rest of the corpus restores with certainty."""
    found = []
    for start, end in damaged_spans(text):
        left, right = text[max(0, start - CONTEXT) : start], text[end : end + AFTER]
        if len(normalize(left)) < CONTEXT or len(normalize(right)) < AFTER:
            continue
        # In the comparison form the phrase index keeps in memory (no text read from disk),
        # of the paragraphs cleaning found whole.
        before, after = normalize(left), normalize(right)
        between = re.compile(re.escape(before) + rf"(.{{1,{LONGEST}}}?)" + re.escape(after))
        seen: set[str] = set()
        holders = snapshot.first_holding(before, snapshot.candidates(before), READ_AT_MOST)
        for doc in holders.tolist():
            if snapshot.damaged(doc):
                continue
            seen.update(m.group(1) for m in between.finditer(snapshot.flat_of(doc)))
        if len(seen) == 1:
            found.append(Mend(start, end, seen.pop()))
    return found
