"""Search over one snapshot: ranking, exact phrases, the "nothing found" rule, snippets."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from retrieval.coverage import passage_coverage, word_weight
from retrieval.index import Snapshot, context_of
from retrieval.model import Answer, Hit
from retrieval.query import Query, analyse, normalize
from retrieval.snippet import find_spans, make_snippet
from retrieval.tokenize import Tokenizer


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

    def search(self, raw: str, k: int = 3, offset: int = 0) -> Answer:
        started = time.perf_counter()
        query = analyse(raw, self.tokenizer)
        ranked = self.rank(query)
        docs = ranked.order[offset : offset + k] if ranked.answered else ranked.order[:0]
        hits = self._hits(query, docs, ranked.scores, ranked.phrase, offset)
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

    def rank(self, query: Query) -> Ranked:
        snap = self.snapshot
        empty = Ranked(np.arange(0), np.zeros(0), False)
        if not len(snap) or not (query.terms or query.phrases or query.fragment):
            return empty
        terms = list(query.terms)
        scores = snap.text.get_scores(terms) + self.ranking.context_weight * (
            snap.context.get_scores(terms)
        )
        matched = self._matched(terms)
        order = np.argsort(-scores, kind="stable")
        order = order[matched[order]]
        phrase, containing = self._exact_matches(query)
        if query.phrases or (query.fragment and containing.size):
            # Asked for exact words: every paragraph that has them, and only those.
            first = containing[np.argsort(-scores[containing], kind="stable")]
            return Ranked(first, scores, bool(first.size), phrase, int(first.size))
        if containing.size:
            # A keyword found verbatim: those paragraphs first, then the rest by BM25.
            inside = np.zeros(len(snap), dtype=bool)
            inside[containing] = True
            first = containing[np.argsort(-scores[containing], kind="stable")]
            return Ranked(np.concatenate([first, order[~inside[order]]]), scores, True)
        order, answered = self._rerank(query, order, scores)
        return Ranked(order, scores, answered)

    def _matched(self, terms: list[str]) -> np.ndarray:
        mask = np.zeros(len(self.snapshot), dtype=bool)
        for index in (self.snapshot.text, self.snapshot.context):
            for term in terms:
                post = index.postings(term)
                if post is not None:
                    mask[post[0]] = True
        return mask

    def _exact_matches(self, query: Query) -> tuple[str, np.ndarray]:
        """Paragraphs holding every quoted phrase, else the whole input verbatim.

        The whole input counts only when it is not a question (no question words): a
        keyword or a pasted fragment that occurs verbatim is exactly what was asked for.
        """
        phrases = list(query.phrases)
        if not phrases and not query.has_question_words and len(normalize(query.text)) >= 2:
            phrases = [query.fragment or query.text]
        needles = [normalize(p) for p in phrases]
        if not needles:
            return "", np.arange(0)
        hits = [i for i, flat in enumerate(self.snapshot.flat) if all(n in flat for n in needles)]
        return "、".join(phrases), np.asarray(hits, dtype=np.int64)

    def word_weights(self, query: Query) -> dict[str, float]:
        n = len(self.snapshot)
        weights = {}
        for word in query.words:
            key = normalize(word)
            if key:
                df = max(self.snapshot.text.doc_freq(word), self.snapshot.context.doc_freq(word))
                weights[key] = word_weight(key, df, n, place=word in query.places)
        return weights

    def _rerank(
        self, query: Query, order: np.ndarray, scores: np.ndarray
    ) -> tuple[np.ndarray, bool]:
        """Re-order the best BM25 candidates by how much of the question each one covers.

        BM25 favours long paragraphs that repeat a few of the words; the answer to a
        question is usually the paragraph that holds all of them. The answer counts as
        found only when the best candidate covers enough of the question.
        """
        r = self.ranking
        head = order[: r.rerank_depth]
        if not head.size:
            return order, False
        weights = self.word_weights(query)
        top = float(scores[head[0]]) or 1.0
        combined = np.empty(head.size)
        covered = np.empty(head.size)
        for i, doc in enumerate(head.tolist()):
            row = self.snapshot.rows[doc]
            context = context_of(row, self.snapshot.speeches[row.speech_id])
            covered[i] = passage_coverage(weights, row.text, context)
            combined[i] = scores[doc] / top * covered[i]
        best = np.argsort(-combined, kind="stable")
        answered = bool(covered[best[0]] >= r.min_coverage)
        return np.concatenate([head[best], order[r.rerank_depth :]]), answered

    def _hits(
        self, query: Query, docs: np.ndarray, scores: np.ndarray, phrase: str, offset: int
    ) -> tuple[Hit, ...]:
        snap = self.snapshot
        n = len(snap)
        weights = {t: word_weight(t, snap.text.doc_freq(t), n) for t in query.terms}
        needles = [normalize(p) for p in phrase.split("、")] if phrase else []
        hits = []
        for rank, doc in enumerate(docs.tolist(), offset + 1):
            row = snap.rows[doc]
            speech = snap.speeches[row.speech_id]
            phrase_spans = _phrase_spans(row.text, needles)
            snippet, marks = make_snippet(row.text, weights, phrase_spans)
            hits.append(
                Hit(
                    rank=rank,
                    score=round(float(scores[doc]), 6),
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


def _phrase_spans(text: str, phrases: list[str]) -> list[tuple[int, int]]:
    """Where each phrase stands in the original text, punctuation in between allowed."""
    keep = [i for i, ch in enumerate(text) if normalize(ch)]
    flat = "".join(normalize(text[i]) for i in keep)
    return [(keep[s], keep[e - 1] + 1) for s, e in find_spans(flat, phrases)]
