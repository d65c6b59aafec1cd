"""How much of a question a passage covers, weighted by how telling each word is.

This is the evidence behind two decisions: the order of the best candidates (a passage
holding every word of the question beats a longer one that merely repeats a few), and the
"nothing found" rule (a question whose telling words are missing from every candidate is
not answered). Both depend on shares of the question, not on raw BM25 scores, so they do
not drift as the corpus grows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from retrieval.text import normalize


@dataclass(frozen=True)
class Weighting:
    """How much each word of a question counts; each share chosen by measurement
    (docs/retrieval.md)."""

    # A one-character word (成, 人, 新) says little on its own.
    single_char: float = 0.5
    # A place the corpus never names (another city's congress) decides that the question
    # is about something else, whatever else matches.
    unknown_place: float = 3.0

    def weight(self, word: str, doc_freq: int, n_docs: int, place: bool = False) -> float:
        """Rare words weigh most; a word the corpus never uses as much as the rarest it
        does use (the caller may count it less, ranking.Ranking.unknown_word_share),
        unless it is a place."""
        weight = math.log((n_docs + 1) / (max(doc_freq, 1) + 0.5))
        if len(word) == 1:
            return weight * self.single_char
        if place and doc_freq == 0:
            return weight * self.unknown_place
        return weight


def passage_coverage(
    weights: dict[str, float],
    flat: str,
    context: str,
    related: dict[str, tuple[str, ...]] | None = None,
) -> float:
    """Share of the question's weight found in the paragraph or its context.

    Words are looked for as substrings of the normalised text (`flat`, as query.normalize
    gives it), so a question that segments a name differently from the text (南昌 /
    南昌市) still meets it. The context (heading, speech title, congress) counts as part
    of the paragraph. A word also counts as found when one of its `related` words (a
    synonym, another homophone) is.
    """
    total = sum(weights.values())
    if not total:
        return 0.0
    haystack = flat + "\n" + normalize(context)
    related = related or {}
    found = sum(
        w
        for word, w in weights.items()
        if word in haystack or any(o in haystack for o in related.get(word, ()))
    )
    return found / total


def nearby_coverage(
    weights: dict[str, float],
    flat: str,
    width: int,
    related: dict[str, tuple[str, ...]] | None = None,
) -> float:
    """The largest share of the question's weight found within `width` characters of the
    paragraph: the words of an answer stand together, in one or two sentences, where a
    long paragraph that only touches on the question has them far apart."""
    total = sum(weights.values())
    if not total:
        return 0.0
    related = related or {}
    spans = []
    for word in weights:
        for form in (word, *related.get(word, ())):
            at = flat.find(form)
            while at >= 0:
                spans.append((at, at + len(form), word))
                at = flat.find(form, at + 1)
    spans.sort()
    inside: dict[str, int] = {}
    best = held = 0.0
    first = 0
    for _, end, word in spans:
        while spans[first][0] < end - width:
            gone = spans[first][2]
            inside[gone] -= 1
            if not inside[gone]:
                del inside[gone]
                held -= weights[gone]
            first += 1
        if word not in inside:
            inside[word] = 0
            held += weights[word]
        inside[word] += 1
        best = max(best, held)
    return best / total
