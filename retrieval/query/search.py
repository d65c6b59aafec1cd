"""Search over one snapshot: ranking, exact phrases, the "nothing found" rule, snippets."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from retrieval.index.arrays import present_sorted
from retrieval.index.bm25 import best, combined_scores, top
from retrieval.index.snapshot import Snapshot
from retrieval.index.tokenize import Tokenizer
from retrieval.model import ANSWER, NONE, NOT_CHINESE, RELATED, Answer, Hit
from retrieval.query.analysis import Query, analyse
from retrieval.query.coverage import passage_coverage, word_weight
from retrieval.query.cues import holds
from retrieval.query.lexicon import Lexicon
from retrieval.query.snippet import find_spans, make_snippet
from retrieval.query.tiers import Evidence, TierRule
from retrieval.text import WORD_CHAR, normalize

# Up to this many paragraphs holding a keyword's bigrams are all checked for the keyword.
CHECK_ALL = 5_000


@dataclass(frozen=True)
class Ranking:
    """The knobs of the ranking, each chosen by measurement (docs/retrieval.md)."""

    context_weight: float = 1.0
    # How many BM25 candidates are re-ordered by coverage.
    rerank_depth: int = 20
    # A word the corpus never uses (not a name) weighs this share of the rarest word's
    # weight: questions put things in other words than the text, so its absence is weak
    # evidence that the question is about something else.
    unknown_word_share: float = 0.3
    # Share of the re-ranking given to the question's character bigrams found in the
    # passage (weighted by rarity): they meet words that segment differently.
    bigram_share: float = 0.5
    tiers: TierRule = field(default_factory=TierRule)


@dataclass(frozen=True)
class Ranked:
    """The best documents in order, each one's BM25 score beside it."""

    order: np.ndarray
    scores: np.ndarray
    confidence: str
    phrase: str = ""
    phrase_count: int = 0
    evidence: Evidence | None = None


class SearchEngine:
    def __init__(
        self, snapshot: Snapshot, tokenizer: Tokenizer, ranking: Ranking | None = None
    ) -> None:
        self.snapshot = snapshot
        self.tokenizer = tokenizer
        self.ranking = ranking or Ranking()
        self.fields = snapshot.fields(self.ranking.context_weight)

    @cached_property
    def lexicon(self) -> Lexicon:
        return Lexicon(self.snapshot, self.tokenizer)

    def analyse(self, raw: str, follows: str = "") -> Query:
        """The question, read together with the one it follows up (a reply to an answer)
        unless it is a whole question itself: a speech the follow-up names replaces the one
        the first question named (娘家人, then 那哈尔滨讲话里是怎么说的)."""
        if not follows:
            return analyse(raw, self.tokenizer, self.lexicon)
        first = analyse(follows, self.tokenizer, self.lexicon)
        then = analyse(raw, self.tokenizer, self.lexicon)
        named = self._naming(then)
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
        page = slice(offset, offset + k) if shown else slice(0)
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
        scope = self._scope(query)
        # Exact words: quoted phrases, else the whole input when it is not a question (a
        # keyword or a pasted fragment that occurs verbatim is exactly what was asked for).
        wanted = list(query.phrases)
        if not wanted and not query.has_question_words and len(normalize(query.text)) >= 2:
            wanted = [query.fragment or query.text]
        if query.phrases or query.fragment:
            containing = self._containing([normalize(p) for p in wanted])
            if scope is not None and np.isin(containing, scope).any():
                containing = containing[np.isin(containing, scope)]
            if query.phrases or containing.size:
                # Asked for exact words: every paragraph that has them, and only those.
                first, first_scores = self._best_of(containing, terms, depth)
                phrase = "、".join(wanted)
                found = NONE
                if first.size:
                    # Where the words were said is in the text; what they mean may not be.
                    sure = not query.has_question_words or query.asks_source
                    found = ANSWER if sure else RELATED
                return Ranked(first, first_scores, found, phrase, int(containing.size))
        elif wanted:
            first, first_scores = self._best_holding(normalize(wanted[0]), terms, depth)
            if first.size:
                # A keyword found verbatim: those paragraphs first, then the rest by BM25.
                rest, rest_scores = top(self.fields, terms, depth + len(first))
                outside = ~np.isin(rest, first)
                return Ranked(
                    np.concatenate([first, rest[outside]]),
                    np.concatenate([first_scores, rest_scores[outside]]),
                    ANSWER,
                )
        want = max(depth, self.ranking.rerank_depth)
        order, scores = top(self.fields, terms, want, within=scope)
        if scope is not None and not order.size:
            order, scores = top(self.fields, terms, want)
        return self._rerank(query, order, scores)

    def _scope(self, query: Query) -> np.ndarray | None:
        """The paragraphs of the speeches the question names, if it names any."""
        ids = query.reference.speech_ids
        return self.snapshot.speech_docs(ids) if ids else None

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

    def word_weights(self, query: Query) -> tuple[dict[str, float], float, int, int]:
        """Each question word's weight in coverage; the share of the question's full weight
        in words the corpus uses; how many words it uses and how many (of two characters
        or more) it never does. The words that name the speech a question points at (南昌,
        代表大会) are left out: the scope holds them already."""
        n = len(self.snapshot)
        named = self._naming(query)
        weights = {}
        full = known = 0.0
        used = unused = 0
        for word in query.words:
            key = normalize(word)
            if not key or key in named:
                continue
            df = self.lexicon.doc_freq(word)
            weight = word_weight(key, df, n, place=word in query.places)
            full += weight
            if df or word in query.related or self.snapshot.containing(key).size:
                known += weight
                used += 1
            else:
                unused += len(key) > 1
                if not names_something(word, query.tags[word]):
                    weight *= self.ranking.unknown_word_share
            weights[key] = weight
        return weights, known / full if full else 1.0, used, unused

    def _naming(self, query: Query) -> frozenset[str]:
        """The words a question names its speech with: the place or union (南昌), the
        congress and its number (工会, 代表大会, 第十三次, 十三大)."""
        ref = query.reference
        if not ref.speech_ids:
            return frozenset(map(normalize, ref.named))
        ordinals = [
            e.ordinal for e in self.lexicon.catalog.entries if e.speech_id in ref.speech_ids
        ]
        words = [*ref.named, *self.lexicon.cues.congress_words, "工会"]
        words += [form for o in ordinals if o for form in (f"第{o}次", f"{o}大")]
        return frozenset(map(normalize, words))

    def unknown_names(self, query: Query) -> tuple[str, ...]:
        """Words of the question that name something the corpus never mentions: a name made
        of words the corpus knows (哈尔滨市委) is not one."""
        lex = self.lexicon
        return tuple(
            word
            for word, tag in query.tags.items()
            if names_something(word, tag)
            and not lex.known(word)
            and not any(self.snapshot.containing(form).size for form in _written_forms(word))
            and not _made_of_known(word, self.tokenizer, lex)
        )

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
            return Ranked(order, scores, NONE)
        weights, known_share, used, unused = self.word_weights(query)
        related = {normalize(w): tuple(map(normalize, o)) for w, o in query.related.items()}
        top_score = float(scores[0]) or 1.0
        combined = np.empty(head.size)
        covered = np.empty(head.size)
        pairs = self._bigram_weights(query) if r.bigram_share else {}
        pair_total = sum(pairs.values()) or 1.0
        for i, doc in enumerate(head.tolist()):
            flat = self.snapshot.flat_of(doc)
            context = self.snapshot.context_text(doc)
            # A question that only names a speech (南昌十三大的讲话) is covered by its scope.
            covered[i] = passage_coverage(weights, flat, context, related) if weights else 1.0
            paired = sum(w for b, w in pairs.items() if b in flat) / pair_total
            mix = (1 - r.bigram_share) * covered[i] + r.bigram_share * paired
            combined[i] = scores[i] / top_score * mix
        best_first = np.argsort(-combined, kind="stable")
        best_doc = int(head[best_first[0]])
        evidence = Evidence(
            coverage=float(covered[best_first[0]]),
            holds_fact=holds(query.expects, self.snapshot.row(best_doc).text),
            known_share=known_share,
            lone_word=unused > 0 and used <= 1,
            unknown_names=self.unknown_names(query),
            unknown_congress=self._unknown_congress(query),
            scoped=bool(query.reference.speech_ids),
        )
        return Ranked(
            np.concatenate([head[best_first], order[depth:]]),
            np.concatenate([scores[:depth][best_first], scores[depth:]]),
            r.tiers.decide(evidence),
            evidence=evidence,
        )

    def _bigram_weights(self, query: Query) -> dict[str, float]:
        """The question's character bigrams (outside the words naming its speech), each
        weighted by how rare it is in the paragraphs."""
        n = len(self.snapshot)
        named = self._naming(query)
        flat = "".join(normalize(w) for w in query.words if normalize(w) not in named)
        pairs = {flat[i : i + 2] for i in range(len(flat) - 1)}
        return {b: word_weight(b, self.snapshot.bigram_freq(b), n) for b in pairs if len(b) == 2}

    def _unknown_congress(self, query: Query) -> bool:
        """A congress the corpus does not hold; but 第五次代表大会以来 in the sixth's speech
        names a congress that speech speaks of."""
        ref = query.reference
        if not ref.unknown_congress:
            return False
        named = self._scope(query)
        for ordinal in ref.ordinals:
            for form in (f"第{ordinal}次", f"{ordinal}大"):
                spoken = self.snapshot.containing(form)
                if np.isin(spoken, named).any() if named is not None else spoken.size:
                    return False
        return True

    def _hits(
        self, query: Query, docs: np.ndarray, scores: np.ndarray, phrase: str, offset: int
    ) -> tuple[Hit, ...]:
        snap = self.snapshot
        n = len(snap)
        # The words naming the speech asked about (哈尔滨) would pull the quoted window away
        # from what was asked about it.
        named = self._naming(query)
        weights = {
            t: word_weight(t, snap.text.doc_freq(t), n)
            for t in query.terms
            if not any(t in name for name in named)
        }
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


# A reply naming this many words of its own (not a speech's name) is a question of its own.
STANDALONE_WORDS = 2
# Parts of speech (jieba's tags) of words that name a place or an organisation. Its person
# (nr) and other-name (nz) tags fall on too many ordinary words (拜早年, 大奖) to be evidence.
NAMING_TAGS = frozenset({"ns", "nt"})
_ORDINAL_NUMBER = re.compile(r"第[零一二三四五六七八九十百千\d]+[次届条款项]")


def names_something(word: str, tag: str) -> bool:
    """A place, an organisation, a number or an ordinal (GDP, 2023年, 第四十二条)."""
    if len(word) < 2:
        return False
    return (
        tag in NAMING_TAGS
        or bool(_ORDINAL_NUMBER.search(word))
        or any(c.isdigit() or (c.isascii() and c.isalpha()) for c in word)
    )


_CONGRESS_ORDINAL = re.compile(r"^第(.+)次$")


def _written_forms(word: str) -> list[str]:
    """How the text may write a word: 第十二次 (of a congress) is also 十二大."""
    key = normalize(word)
    short = _CONGRESS_ORDINAL.sub(r"\1大", key)
    return [key, short] if short != key else [key]


def _made_of_known(word: str, tokenizer: Tokenizer, lexicon: Lexicon) -> bool:
    parts = [t for t in tokenizer.query_terms(word) if 1 < len(t) < len(word)]
    return bool(parts) and all(lexicon.known(t) for t in parts)


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
