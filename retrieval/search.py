"""Search over one snapshot: ranking, exact phrases, the "nothing found" rule, snippets."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from retrieval.arrays import present_sorted
from retrieval.bm25 import best, combined_scores, top
from retrieval.coverage import passage_coverage, word_weight
from retrieval.index import Snapshot
from retrieval.model import Answer, Hit
from retrieval.query import WORD_CHAR, Query, analyse, normalize
from retrieval.snippet import find_spans, make_snippet
from retrieval.tokenize import Tokenizer

# Up to this many paragraphs holding a keyword's bigrams are all checked for the keyword.
CHECK_ALL = 5_000


@dataclass(frozen=True)
class Ranking:
    """The knobs of the ranking, each chosen by measurement (docs/retrieval.md)."""

    context_weight: float = 1.0
    # How many BM25 candidates are re-ordered by coverage.
    rerank_depth: int = 20
    # Least share of the question's weight the best passage must cover to be an answer.
    min_coverage: float = 0.5


@dataclass(frozen=True)
class Ranked:
    """The best documents in order, each one's BM25 score beside it."""

    order: np.ndarray
    scores: np.ndarray
    answered: bool
    phrase: str = ""
    phrase_count: int = 0


class SearchEngine:
    def __init__(
        self, snapshot: Snapshot, tokenizer: Tokenizer, ranking: Ranking | None = None
    ) -> None:
        self.snapshot = snapshot
        self.tokenizer = tokenizer
        self.ranking = ranking or Ranking()
        self.fields = snapshot.fields(self.ranking.context_weight)

    def search(self, raw: str, k: int = 3, offset: int = 0) -> Answer:
        started = time.perf_counter()
        query = analyse(raw, self.tokenizer)
        ranked = self.rank(query, offset + k)
        page = slice(offset, offset + k) if ranked.answered else slice(0)
        hits = self._hits(query, ranked.order[page], ranked.scores[page], ranked.phrase, offset)
        return Answer(
            query=raw,
            answered=ranked.answered,
            hits=hits,
            took_ms=(time.perf_counter() - started) * 1000,
            phrase=ranked.phrase,
            phrase_count=ranked.phrase_count,
        )

    def find_phrase(self, text: str, k: int = 10, offset: int = 0) -> Answer:
        """Every paragraph containing the phrase, punctuation-insensitively, best first."""
        quoted = text.strip().strip("「」『』“”‘’\"'")
        return self.search(f"“{quoted}”", k=k, offset=offset)

    def rank(self, query: Query, depth: int) -> Ranked:
        """At least the `depth` best documents, when there are that many."""
        snap = self.snapshot
        if not len(snap) or not (query.terms or query.phrases or query.fragment):
            return Ranked(np.zeros(0, dtype=np.int64), np.zeros(0), False)
        terms = list(query.terms)
        # Exact words: quoted phrases, else the whole input when it is not a question (a
        # keyword or a pasted fragment that occurs verbatim is exactly what was asked for).
        wanted = list(query.phrases)
        if not wanted and not query.has_question_words and len(normalize(query.text)) >= 2:
            wanted = [query.fragment or query.text]
        if query.phrases or query.fragment:
            containing = self._containing([normalize(p) for p in wanted])
            if query.phrases or containing.size:
                # Asked for exact words: every paragraph that has them, and only those.
                first, first_scores = self._best_of(containing, terms, depth)
                phrase = "、".join(wanted)
                return Ranked(first, first_scores, bool(first.size), phrase, int(containing.size))
        elif wanted:
            first, first_scores = self._best_holding(normalize(wanted[0]), terms, depth)
            if first.size:
                # A keyword found verbatim: those paragraphs first, then the rest by BM25.
                rest, rest_scores = top(self.fields, terms, depth + len(first))
                outside = ~np.isin(rest, first)
                return Ranked(
                    np.concatenate([first, rest[outside]]),
                    np.concatenate([first_scores, rest_scores[outside]]),
                    True,
                )
        order, scores = top(self.fields, terms, max(depth, self.ranking.rerank_depth))
        return self._rerank(query, order, scores)

    def _containing(self, needles: list[str]) -> np.ndarray:
        found = self.snapshot.containing(needles[0])
        for needle in needles[1:]:
            found = np.intersect1d(found, self.snapshot.containing(needle))
        return found

    def _best_holding(
        self, needle: str, terms: list[str], depth: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """The `depth` best paragraphs holding the needle verbatim, and their scores.

        A common keyword is in a great many paragraphs; rather than check them all, the
        best of those holding its every bigram are checked, more at a time, until enough
        hold the keyword itself. Paragraphs holding a query word score above those holding
        none, so only when too few of the first kind hold it are the others looked at.
        """
        snap = self.snapshot
        superset = snap.candidates(needle)
        if len(superset) <= CHECK_ALL:
            return self._best_of(superset[snap.holds(needle, superset)], terms, depth)
        m = depth
        while True:
            docs, scores = top(self.fields, terms, m, within=superset)
            ok = snap.holds(needle, docs)
            if ok.sum() >= depth:
                return docs[ok][:depth], scores[ok][:depth]
            if len(docs) < m:
                break
            m *= 8
        # Every match is in `docs`; the others all score alike (see _best_of), so only the
        # first of them that hold the needle could get in.
        others = superset[~present_sorted(superset, np.sort(docs))]
        held = np.concatenate([docs[ok], _first_holding(snap, needle, others, depth)])
        return best(held, combined_scores(self.fields, terms, held), depth)

    def _best_of(
        self, docs: np.ndarray, terms: list[str], depth: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """The `depth` best of the (sorted) documents, and their scores."""
        if len(docs) > CHECK_ALL:
            found, _ = top(self.fields, terms, depth, within=docs)
            # A document holding no query word scores what all such do (nothing, or BM25+'s
            # floor), and ties go to the lower id: only the first few of them could get in.
            docs = np.union1d(found, docs[: depth + len(found)])
        return best(docs, combined_scores(self.fields, terms, docs), depth)

    def word_weights(self, query: Query) -> dict[str, float]:
        n = len(self.snapshot)
        weights = {}
        for word in query.words:
            key = normalize(word)
            if key:
                df = max(self.snapshot.text.doc_freq(word), self.snapshot.context.doc_freq(word))
                weights[key] = word_weight(key, df, n, place=word in query.places)
        return weights

    def _rerank(self, query: Query, order: np.ndarray, scores: np.ndarray) -> Ranked:
        """Re-order the best BM25 candidates by how much of the question each one covers.

        BM25 favours long paragraphs that repeat a few of the words; the answer to a
        question is usually the paragraph that holds all of them. The answer counts as
        found only when the best candidate covers enough of the question.
        """
        r = self.ranking
        depth = r.rerank_depth
        head = order[:depth]
        if not head.size:
            return Ranked(order, scores, False)
        weights = self.word_weights(query)
        top_score = float(scores[0]) or 1.0
        combined = np.empty(head.size)
        covered = np.empty(head.size)
        for i, doc in enumerate(head.tolist()):
            flat = self.snapshot.flat_of(doc)
            covered[i] = passage_coverage(weights, flat, self.snapshot.context_text(doc))
            combined[i] = scores[i] / top_score * covered[i]
        best_first = np.argsort(-combined, kind="stable")
        return Ranked(
            np.concatenate([head[best_first], order[depth:]]),
            np.concatenate([scores[:depth][best_first], scores[depth:]]),
            bool(covered[best_first[0]] >= r.min_coverage),
        )

    def _hits(
        self, query: Query, docs: np.ndarray, scores: np.ndarray, phrase: str, offset: int
    ) -> tuple[Hit, ...]:
        snap = self.snapshot
        n = len(snap)
        weights = {t: word_weight(t, snap.text.doc_freq(t), n) for t in query.terms}
        needles = [normalize(p) for p in phrase.split("、")] if phrase else []
        hits = []
        for rank, (doc, score) in enumerate(
            zip(docs.tolist(), scores.tolist(), strict=True), offset + 1
        ):
            row = snap.row(doc)
            speech = snap.speeches[row.speech_id]
            phrase_spans = _phrase_spans(row.text, needles)
            snippet, marks = make_snippet(row.text, weights, phrase_spans)
            hits.append(
                Hit(
                    rank=rank,
                    score=round(score, 6),
                    speech_id=row.speech_id,
                    speech_title=speech.title,
                    event=speech.event,
                    paragraph=row.n,
                    heading=row.heading,
                    text=row.text,
                    snippet=snippet,
                    highlights=marks,
                )
            )
        return tuple(hits)


def _first_holding(snap: Snapshot, needle: str, docs: np.ndarray, count: int) -> np.ndarray:
    """The first `count` of the (sorted) documents that hold the needle, checked a growing
    run at a time rather than all at once."""
    found: list[np.ndarray] = []
    start, size = 0, max(count, 64)
    while start < len(docs) and sum(map(len, found)) < count:
        run = docs[start : start + size]
        found.append(run[snap.holds(needle, run)])
        start, size = start + size, size * 4
    return np.concatenate(found)[:count] if found else docs[:0]


def _phrase_spans(text: str, phrases: list[str]) -> list[tuple[int, int]]:
    """Where each phrase stands in the original text, punctuation in between allowed."""
    if not phrases:
        return []
    # normalize keeps exactly the word characters, one for one, so offsets map back.
    keep = [m.start() for m in WORD_CHAR.finditer(text)]
    flat = normalize(text)
    return [(keep[s], keep[e - 1] + 1) for s, e in find_spans(flat, phrases)]
