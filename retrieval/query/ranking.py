"""Re-ranking the best BM25 candidates by how much of the question each covers, and the
evidence an answer's tier is decided on (tiers.py). The knobs are `Ranking`'s fields.

Ranking policy: safe to change; measure with bench/quality.py and bench/calibrate.py.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from retrieval.index.snapshot import Snapshot
from retrieval.index.tokenize import Tokenizer
from retrieval.model import NONE
from retrieval.query.analysis import Query
from retrieval.query.coverage import Weighting, nearby_coverage, passage_coverage
from retrieval.query.cues import holds
from retrieval.query.cues import load as load_cues
from retrieval.query.lexicon import Lexicon
from retrieval.query.scope import part_span
from retrieval.query.tiers import Evidence, TierRule
from retrieval.text import normalize


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
    # A compound the corpus never uses whole counts this share of its weight through its
    # sub-words, when the corpus uses them all (财政收入 → 财政, 收入).
    compound_part_share: float = 0.5
    # Share of the re-ranking given to the question's character bigrams found in the
    # passage (weighted by rarity): they meet words that segment differently.
    bigram_share: float = 0.5
    # A passage gains up to this share for the part of the question it holds within
    # `nearby_width` characters, when the question has `nearby_min_words` words or more:
    # two words are near each other in most short paragraphs that hold both.
    nearby_share: float = 0.5
    nearby_width: int = 40
    nearby_min_words: int = 3
    weighting: Weighting = field(default_factory=Weighting)
    # Up to this many paragraphs holding a keyword's bigrams are all checked for the
    # keyword; beyond it, the best of them first (search.SearchEngine._best_holding).
    check_all: int = 5_000
    # A fact asked for (a date, a number …) counts as given when one of this many best
    # passages holds one: an answer shows three.
    fact_depth: int = 3
    # ... and only when it stands within this many characters of a word of the question:
    # 多少名代表 is answered by 三百名代表, not by 三百名 on its own two lines away.
    fact_window: int = 15
    # Results stop at the first passage covering less than this share of what the best
    # one covers (or less than the related tier's least): 劳模精神 is not answered by
    # paragraphs that hold only 精神.
    relevant_share: float = 0.5
    # A quotation not found word for word shows the passages closest to it when the best
    # holds this share of its words (the words of a misremembered quotation, mostly).
    misquote_coverage: float = 0.8
    # Words in more than this share of the paragraphs are not bold in a quotation.
    bold_share: float = 0.2
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
    # How many of `order` are relevant, from the first (None: not known, no cut-off).
    relevant: int | None = None


class Judge:
    """What a question's words weigh in one snapshot, how well a passage covers them, and
    what that says about the answer."""

    def __init__(
        self, snapshot: Snapshot, tokenizer: Tokenizer, lexicon: Lexicon, ranking: Ranking
    ) -> None:
        self.snapshot = snapshot
        self.tokenizer = tokenizer
        self.lexicon = lexicon
        self.ranking = ranking

    def scope(self, query: Query) -> np.ndarray | None:
        """The paragraphs of the speeches the question names, if it names any; of the part
        of one it asks about (第二部分), if it does."""
        ids = query.reference.speech_ids
        if not ids:
            return None
        docs = self.snapshot.speech_docs(ids)
        if query.part and len(ids) == 1 and docs.size:
            snap = self.snapshot
            places = [snap.place(doc) for doc in docs.tolist()]
            first, last = part_span(snap.speeches[ids[0]], places, query.part)
            numbers = np.array([n for n, _ in places])
            inside = docs[(numbers >= first) & (numbers <= last)]
            # A part the speech does not have (第五部分 of three) leaves the whole speech.
            return inside if inside.size else docs
        return docs

    def word_weights(self, query: Query) -> tuple[dict[str, float], float, int, int]:
        """Each question word's weight in coverage; the share of the question's full weight
        in words the corpus uses; how many words it uses and how many (of two characters
        or more) it never does. The words that name the speech a question points at (南昌,
        代表大会) are left out: the scope holds them already."""
        n = len(self.snapshot)
        named = self.naming(query)
        weights = {}
        full = known = 0.0
        used = unused = 0
        for word in query.words:
            key = normalize(word)
            if not key or key in named:
                continue
            df = self.lexicon.doc_freq(word)
            weight = self.ranking.weighting.weight(key, df, n, place=word in query.places)
            full += weight
            # A single character is in nearly every corpus; finding out costs a full scan.
            if df or len(key) == 1 or word in query.related or self.snapshot.may_hold(key):
                known += weight
                used += 1
            elif not names_something(word, query.tags[word]) and (parts := self._known_parts(word)):
                # A compound the text does not use whole (财政收入) is half covered by its
                # parts (财政, 收入); for the lone-word rule it stays a word the text lacks.
                share = self.ranking.compound_part_share
                known += weight * share
                unused += 1
                for part in parts:
                    weights[normalize(part)] = weight * share / len(parts)
                weights[key] = weight * (1 - share)
                continue
            else:
                unused += len(key) > 1
                if not names_something(word, query.tags[word]):
                    weight *= self.ranking.unknown_word_share
            weights[key] = weight
        return weights, known / full if full else 1.0, used, unused

    def _known_parts(self, word: str) -> list[str]:
        """The word's sub-words (of two characters or more), if the corpus uses them all."""
        parts = [t for t in self.tokenizer.query_terms(word) if 1 < len(t) < len(word)]
        return parts if parts and all(self.lexicon.known(t) for t in parts) else []

    def scoped_terms(self, query: Query, terms: list[str]) -> list[str]:
        """BM25 terms for a search inside the speeches a question names. Their names
        (南昌, 哈尔滨) stand in few of their paragraphs, mostly the opening, which would win
        on the name alone; yet a name may be part of what is asked (滨州梦). So the other
        words count twice."""
        named = frozenset(map(normalize, query.reference.named))
        others = [
            t for t in terms if not any(normalize(t) in n or n in normalize(t) for n in named)
        ]
        return [*others, *terms] if others else terms

    def naming(self, query: Query) -> frozenset[str]:
        """The words a question names its speech with: the place or union (南昌), the
        congress and its number (工会, 代表大会, 第十三次, 十三大)."""
        ref = query.reference
        if not ref.speech_ids:
            return frozenset(map(normalize, ref.named))
        ordinals = {self.lexicon.catalog.ordinal(i) for i in ref.speech_ids}
        words = [*ref.named, *self.lexicon.cues.congress_words, "工会"]
        words += [form for o in ordinals if o for form in (f"第{o}次", f"{o}大")]
        return frozenset(map(normalize, words))

    def unknown_names(self, query: Query) -> tuple[str, ...]:
        """Words of the question that name something the corpus never mentions: a name made
        of words the corpus knows (哈尔滨市委) is not one."""
        lex = self.lexicon
        named = self.naming(query)
        return tuple(
            word
            for word, tag in query.tags.items()
            if names_something(word, tag)
            and normalize(word) not in named
            and not lex.known(word)
            and not any(self.snapshot.may_hold(form) for form in _written_forms(word))
            and not self._known_parts(word)
        )

    def rerank(self, query: Query, order: np.ndarray, scores: np.ndarray) -> Ranked:
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
        pairs = self.bigram_weights(query) if r.bigram_share else {}
        pair_total = sum(pairs.values()) or 1.0
        for i, doc in enumerate(head.tolist()):
            flat = self.snapshot.flat_of(doc)
            context = self.snapshot.context_text(doc)
            # A question that only names a speech (南昌十三大的讲话) is covered by its scope.
            covered[i] = passage_coverage(weights, flat, context, related) if weights else 1.0
            paired = sum(w for b, w in pairs.items() if b in flat) / pair_total
            mix = (1 - r.bigram_share) * covered[i] + r.bigram_share * paired
            if len(weights) >= r.nearby_min_words:
                nearby = nearby_coverage(weights, flat, r.nearby_width, related)
                mix *= 1 + r.nearby_share * nearby
            combined[i] = scores[i] / top_score * mix
        best_first = np.argsort(-combined, kind="stable")
        shown = head[best_first[: self.ranking.fact_depth]].tolist()
        # Single characters are near everything.
        near = tuple(w for w in weights if len(w) > 1) + tuple(
            form for forms in related.values() for form in forms
        )

        def has(doc: int) -> bool:
            text = self.snapshot.row(doc).text
            return holds(query.expects, text, near, r.fact_window, query.text)

        evidence = Evidence(
            coverage=float(covered[best_first[0]]),
            fact_first=has(shown[0]),
            fact_shown=any(has(d) for d in shown),
            known_share=known_share,
            lone_word=unused > 0 and used <= 1,
            unknown_names=self.unknown_names(query),
            unknown_congress=self.unknown_congress(query),
            scoped=bool(query.reference.speech_ids),
        )
        least = max(r.tiers.related_coverage, r.relevant_share * float(covered[best_first[0]]))
        return Ranked(
            np.concatenate([head[best_first], order[depth:]]),
            np.concatenate([scores[:depth][best_first], scores[depth:]]),
            r.tiers.decide(evidence),
            evidence=evidence,
            relevant=_prefix(covered[best_first] >= least),
        )

    def relevant_rest(self, query: Query, docs: np.ndarray) -> int:
        """How many of the documents, from the first, cover enough of the question to be
        shown after the ones holding it verbatim (see Ranking.relevant_share)."""
        weights, *_ = self.word_weights(query)
        related = {normalize(w): tuple(map(normalize, o)) for w, o in query.related.items()}
        covered = np.array(
            [
                passage_coverage(
                    weights, self.snapshot.flat_of(d), self.snapshot.context_text(d), related
                )
                for d in docs[: self.ranking.rerank_depth].tolist()
            ]
        )
        return _prefix(covered >= self.ranking.relevant_share)

    def bigram_weights(self, query: Query) -> dict[str, float]:
        """The question's character bigrams (outside the words naming its speech), each
        weighted by how rare it is in the paragraphs."""
        n = len(self.snapshot)
        named = self.naming(query)
        flat = "".join(normalize(w) for w in query.words if normalize(w) not in named)
        pairs = {flat[i : i + 2] for i in range(len(flat) - 1)}
        weigh = self.ranking.weighting.weight
        return {b: weigh(b, self.snapshot.bigram_freq(b), n) for b in pairs if len(b) == 2}

    def unknown_congress(self, query: Query) -> bool:
        """A congress the corpus does not hold; but 第五次代表大会以来 in the sixth's speech
        names a congress that speech speaks of."""
        ref = query.reference
        if not ref.unknown_congress:
            return False
        named = self.scope(query)
        for ordinal in ref.ordinals:
            for form in (f"第{ordinal}次", f"{ordinal}大"):
                spoken = self.snapshot.containing(form)
                if np.isin(spoken, named).any() if named is not None else spoken.size:
                    return False
        return True


def _prefix(ok: np.ndarray) -> int:
    """The length of the run of True at the start."""
    return int(ok.size if ok.all() else np.argmin(ok))


# Parts of speech (jieba's tags) of words that name a place or an organisation. Its person
# (nr) and other-name (nz) tags fall on too many ordinary words (拜早年, 大奖) to be evidence.
# An organisation names one only with its place (上海市总工会); without one it is a kind
# of body (科研院所), which a speech may well talk about in other words.
NAMING_TAGS = frozenset({"ns", "nt"})
_ORDINAL_NUMBER = re.compile(r"第[零一二三四五六七八九十百千\d]+[次届条款项]")


def names_something(word: str, tag: str) -> bool:
    """A place, an organisation, a number or an ordinal (GDP, 2023年, 第四十二条)."""
    if len(word) < 2:
        return False
    if tag == "nt" and not load_cues().place_pattern.match(word):
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
