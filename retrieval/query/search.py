"""Search over one snapshot: ranking, exact phrases, the "nothing found" rule, snippets."""

from __future__ import annotations

import time
from dataclasses import replace
from functools import cached_property

import numpy as np

from retrieval.index.arrays import present_sorted
from retrieval.index.snapshot import Snapshot
from retrieval.index.tokenize import Tokenizer
from retrieval.index.topk import best, combined_scores, top
from retrieval.ingest.clean import damaged_spans
from retrieval.model import ANSWER, NONE, NOT_CHINESE, RELATED, Answer, Hit
from retrieval.query.analysis import Query, analyse
from retrieval.query.lexicon import Lexicon
from retrieval.query.ranking import Judge, Ranked, Ranking
from retrieval.query.restore import Mend, mends
from retrieval.query.snippet import find_spans, make_snippet
from retrieval.text import WORD_CHAR, normalize


class SearchEngine:
    def __init__(
        self, snapshot: Snapshot, tokenizer: Tokenizer, ranking: Ranking | None = None
    ) -> None:
        self.snapshot = snapshot
        self.tokenizer = tokenizer
        self.ranking = ranking or Ranking()
        self.fields = snapshot.fields(self.ranking.context_weight)
        self._mends: dict[int, list[Mend]] = {}

    @cached_property
    def lexicon(self) -> Lexicon:
        return Lexicon(self.snapshot, self.tokenizer)

    @cached_property
    def judge(self) -> Judge:
        return Judge(self.snapshot, self.tokenizer, self.lexicon, self.ranking)

    def analyse(self, raw: str, follows: str = "") -> Query:
        """The question, read together with the one it follows up (a reply to an answer)
        unless it is a whole question itself: a speech the follow-up names replaces the one
        the first question named (娘家人, then 那哈尔滨讲话里是怎么说的)."""
        if not follows:
            return analyse(raw, self.tokenizer, self.lexicon)
        first = analyse(follows, self.tokenizer, self.lexicon)
        then = analyse(raw, self.tokenizer, self.lexicon)
        named = self.judge.naming(then)
        if sum(normalize(w) not in named for w in then.words) >= STANDALONE_WORDS:
            return then
        earlier = first.text
        if then.reference.named or then.reference.speech_ids:
            for name in first.reference.named:
                earlier = earlier.replace(name, " ")
        return analyse(f"{earlier} {then.text}", self.tokenizer, self.lexicon)

    def search(self, raw: str, k: int = 3, offset: int = 0, follows: str = "") -> Answer:
        started = time.perf_counter()
        query = self.analyse(raw, follows)
        if query.not_chinese:
            return Answer(query=raw, confidence=NONE, hits=(), notice=NOT_CHINESE)
        ranked = self.rank(query, offset + k)
        shown = ranked.confidence != NONE
        # The first page is shown whole; the pages after it stop where relevance stops.
        end = offset + k
        if offset and ranked.relevant is not None:
            end = min(end, ranked.relevant)
        page = slice(offset, max(end, offset)) if shown else slice(0)
        hits = self._hits(query, ranked.order[page], ranked.scores[page], ranked.phrase, offset)
        closest = ""
        if not shown and ranked.order.size:
            closest = self.snapshot.row(int(ranked.order[0])).speech_id
        closest_title = self.snapshot.speeches[closest].title if closest else ""
        return Answer(
            query=raw,
            confidence=ranked.confidence,
            hits=hits,
            took_ms=(time.perf_counter() - started) * 1000,
            phrase=ranked.phrase,
            phrase_count=ranked.phrase_count,
            corrections=tuple((c.typed, c.meant[0]) for c in query.corrections),
            scope=query.reference.speech_ids,
            outline=query.reference.speech_ids[0]
            if query.outline and len(query.reference.speech_ids) == 1
            else "",
            closest=closest,
            closest_title=closest_title,
            total=ranked.relevant or 0,
        )

    def find_phrase(self, text: str, k: int = 10, offset: int = 0) -> Answer:
        """Every paragraph containing the phrase, punctuation-insensitively, best first."""
        quoted = text.strip().strip("「」『』“”‘’\"'")
        return self.search(f"“{quoted}”", k=k, offset=offset)

    def rank(self, query: Query, depth: int) -> Ranked:
        """At least the `depth` best documents, when there are that many."""
        snap = self.snapshot
        if not len(snap) or not (query.terms or query.phrases or query.fragment):
            return Ranked(np.zeros(0, dtype=np.int64), np.zeros(0), NONE)
        terms = query.bm25_terms
        scope = self.judge.scope(query)
        if scope is not None:
            terms = self.judge.scoped_terms(query, terms)
        # Exact words: quoted phrases, else the whole input when it is not a question (a
        # keyword or a pasted fragment that occurs verbatim is exactly what was asked for).
        wanted = list(query.phrases)
        if not wanted and not query.has_question_words and len(normalize(query.text)) >= 2:
            wanted = [query.fragment or query.text]
        if query.phrases or query.fragment:
            containing = self._containing([normalize(p) for p in wanted])
            if scope is not None and np.isin(containing, scope).any():
                containing = containing[np.isin(containing, scope)]
            phrase = "、".join(wanted)
            if containing.size:
                # Asked for exact words: every paragraph that has them, and only those.
                first, first_scores = self._best_of(containing, terms, depth)
                # Where the words were said is in the text; what they mean may not be.
                sure = not query.has_question_words or query.asks_source
                found = ANSWER if sure else RELATED
                count = int(containing.size)
                return Ranked(first, first_scores, found, phrase, count, relevant=count)
            if query.phrases:
                # A quotation remembered not quite word for word (a name left out) still has
                # its closest passages; they are shown as related, never as the quotation.
                near = self._ranked(query, terms, depth, scope)
                close = near.evidence is not None and (
                    near.evidence.coverage >= self.ranking.misquote_coverage
                )
                tier = RELATED if close else NONE
                return replace(near, confidence=tier, phrase=phrase)
        elif wanted:
            first, first_scores = self._best_holding(normalize(wanted[0]), terms, depth)
            if first.size:
                # A keyword found verbatim: those paragraphs first, then the rest by BM25.
                rest, rest_scores = top(self.fields, terms, depth + len(first))
                outside = ~np.isin(rest, first)
                # Every holder is in `first` when fewer than asked for came back.
                every = len(first) < depth
                more = self.judge.relevant_rest(query, rest[outside]) if every else 0
                return Ranked(
                    np.concatenate([first, rest[outside]]),
                    np.concatenate([first_scores, rest_scores[outside]]),
                    ANSWER,
                    relevant=len(first) + more if every else None,
                )
        return self._ranked(query, terms, depth, scope)

    def _ranked(
        self, query: Query, terms: list[str], depth: int, scope: np.ndarray | None
    ) -> Ranked:
        """The best BM25 candidates (in the scope, unless nothing there matches),
        re-ranked."""
        want = max(depth, self.ranking.rerank_depth)
        order, scores = top(self.fields, terms, want, within=scope)
        if scope is not None and not order.size:
            order, scores = top(self.fields, terms, want)
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
        if len(superset) <= self.ranking.check_all:
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
        held = np.concatenate([docs[ok], snap.first_holding(needle, others, depth)])
        return best(held, combined_scores(self.fields, terms, held), depth)

    def _best_of(
        self, docs: np.ndarray, terms: list[str], depth: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """The `depth` best of the (sorted) documents, and their scores."""
        if len(docs) > self.ranking.check_all:
            found, _ = top(self.fields, terms, depth, within=docs)
            # A document holding no query word scores what all such do (nothing, or BM25+'s
            # floor), and ties go to the lower id: only the first few of them could get in.
            docs = np.union1d(found, docs[: depth + len(found)])
        return best(docs, combined_scores(self.fields, terms, docs), depth)

    def _rerank(self, query: Query, order: np.ndarray, scores: np.ndarray) -> Ranked:
        return self.judge.rerank(query, order, scores)

    def _damage(
        self, doc: int, text: str, snippet: str
    ) -> tuple[list[tuple[int, int]], list[Mend]]:
        """The snippet's garbled runs, and those the corpus mends, in snippet offsets. The
        mends of a paragraph are worked out once per snapshot: they need phrase look-ups."""
        known = self._mends.get(doc)
        if known is None:
            known = mends(self.snapshot, text)
            if len(self._mends) < MENDS_KEPT:
                self._mends[doc] = known
        at = text.find(snippet)
        end = at + len(snippet)
        # A run cut by the snippet's edge is marked as far as the snippet holds it.
        inside = [
            (max(s, at) - at, min(e, end) - at)
            for s, e in damaged_spans(text)
            if s < end and e > at
        ]
        fixed = [
            Mend(m.start - at, m.end - at, m.text) for m in known if at <= m.start < m.end <= end
        ]
        return inside, fixed

    def _hits(
        self, query: Query, docs: np.ndarray, scores: np.ndarray, phrase: str, offset: int
    ) -> tuple[Hit, ...]:
        snap = self.snapshot
        n = len(snap)
        # The words naming the speech asked about (哈尔滨) would pull the quoted window away
        # from what was asked about it.
        named = self.judge.naming(query)
        weights = {
            t: self.ranking.weighting.weight(t, snap.text.doc_freq(t), n)
            for t in query.terms
            if not any(t in name for name in named)
        }
        # Bold only what tells: not words in a good share of all paragraphs (工会, 职工).
        bold = frozenset(t for t in weights if snap.text.doc_freq(t) <= self.ranking.bold_share * n)
        needles = [normalize(p) for p in phrase.split("、")] if phrase else []
        hits = []
        for rank, (doc, score) in enumerate(
            zip(docs.tolist(), scores.tolist(), strict=True), offset + 1
        ):
            row = snap.row(doc)
            speech = snap.speeches[row.speech_id]
            phrase_spans = _phrase_spans(row.text, needles)
            snippet, marks = make_snippet(row.text, weights, phrase_spans, bold)
            spans, fixes = self._damage(doc, row.text, snippet) if row.damaged else ([], [])
            mended_at = {(m.start, m.end) for m in fixes}
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
                    damage=tuple(s for s in spans if s not in mended_at),
                    mended=tuple((m.start, m.end, m.text) for m in fixes),
                )
            )
        return tuple(hits)


# Damaged paragraphs whose mends an engine remembers (a few bytes each).
MENDS_KEPT = 100_000
# A reply naming this many words of its own (not a speech's name) is a question of its own.
STANDALONE_WORDS = 2


def _phrase_spans(text: str, phrases: list[str]) -> list[tuple[int, int]]:
    """Where each phrase stands in the original text, punctuation in between allowed."""
    if not phrases:
        return []
    # normalize keeps exactly the word characters, one for one, so offsets map back.
    keep = [m.start() for m in WORD_CHAR.finditer(text)]
    flat = normalize(text)
    return [(keep[s], keep[e - 1] + 1) for s, e in find_spans(flat, phrases)]
