"""Query analysis: what the user typed → Simplified text, search terms and exact phrases,
with what a chat message adds taken off (filler, a named speech, typos) and the corpus's own
words for what was asked in other words (synonyms)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from retrieval.index.tokenize import Tokenizer
from retrieval.ingest.clean import to_simplified
from retrieval.query.cues import is_not_chinese
from retrieval.query.lexicon import Lexicon
from retrieval.query.scope import Reference, part_asked
from retrieval.query.spelling import Correction, corrections
from retrieval.query.synonyms import alternatives
from retrieval.text import normalize

QUOTED = re.compile(r"「([^」]+)」|『([^』]+)』|“([^”]+)”|‘([^’]+)’|\"([^\"]+)\"|'([^']+)'")

# A pasted fragment is at least this many characters of text; shorter input reads as keywords.
FRAGMENT_MIN_CHARS = 6
MAX_QUERY_CHARS = 500


# 工会十三大 is how people write 工会第十三次代表大会; the speeches use the long form.
CONGRESS_SHORT = re.compile(
    r"(?:(?<=会)|(?<=党的))([一二三四五六七八九十]{1,3})大"
    r"(?=$|[^\u4e00-\u9fff]|精神|以来|上|召开|报告|期间|的|讲|说|提|开|代表)"
)


def expand_abbreviations(text: str) -> str:
    return CONGRESS_SHORT.sub(r"第\1次代表大会", text)


@dataclass(frozen=True)
class Query:
    """`phrases` (quoted) and `fragment` (pasted) are kept as typed, for display.

    `terms` are what was typed (typos corrected), `extra_terms` the corpus's other words
    for them (synonyms, other homophones), which count less. `related` maps a question
    word to those other words, for coverage.
    """

    raw: str
    text: str
    terms: tuple[str, ...]
    # The words the question is about, whole, each with its part of speech (jieba's tag).
    tags: dict[str, str]
    phrases: tuple[str, ...]
    fragment: str
    has_question_words: bool
    extra_terms: tuple[str, ...] = ()
    related: dict[str, tuple[str, ...]] = field(default_factory=dict)
    reference: Reference = field(default_factory=Reference)
    corrections: tuple[Correction, ...] = ()
    outline: bool = False
    # The part of the named speech asked about (第三部分 → 3), 0 for the whole.
    part: int = 0
    not_chinese: bool = False
    expects: re.Pattern[str] | None = None
    asks_source: bool = False

    @property
    def words(self) -> tuple[str, ...]:
        return tuple(self.tags)

    @property
    def places(self) -> frozenset[str]:
        return frozenset(w for w, tag in self.tags.items() if tag == "ns")

    @property
    def bm25_terms(self) -> list[str]:
        """Typed words count twice as much as the words found for them."""
        if not self.extra_terms:
            return list(self.terms)
        return [*self.terms, *self.terms, *self.extra_terms]


def analyse(raw: str, tokenizer: Tokenizer, lexicon: Lexicon | None = None) -> Query:
    typed = to_simplified(" ".join(raw.split())[:MAX_QUERY_CHARS])
    # Quoted words are looked up as written (省工会十三大精神), not with 十三大 spelt out.
    quoted = tuple(
        q.strip()
        for q in (next(g for g in m.groups() if g) for m in QUOTED.finditer(typed))
        if len(normalize(q)) >= 2
    )
    text = expand_abbreviations(typed)
    fixes: tuple[Correction, ...]
    core, reference, fixes, outline, expects = text, Reference(), (), False, None
    previous: dict[str, tuple[str, ...]] = {}
    part = 0
    if lexicon is not None:
        reference = lexicon.catalog.find(text)
        expects = lexicon.cues.expected(text)
        outline = lexicon.cues.asks_for_outline(text)
        core, previous = lexicon.catalog.name_previous(text, reference)
        if reference.speech_ids:
            part, core = part_asked(core)
        core = lexicon.cues.strip_fillers(core)
    # A pasted fragment may come with a request around it (…那段帮我找下): it is what is
    # left once the chat filler is gone, if that is no question.
    pasted = " ".join(core.split())
    asks = any(tokenizer.asks(w) for w in tokenizer.words(pasted)) or text.rstrip().endswith(
        ("?", "？")
    )
    long_enough = len(normalize(pasted)) >= FRAGMENT_MIN_CHARS
    fragment = pasted if not quoted and not asks and long_enough else ""
    if lexicon is not None:
        if outline:
            core = lexicon.cues.strip_outline(core)
        core, fixes = _corrected(core, tokenizer, lexicon)
        if fixes and not reference.speech_ids:
            # A place typed wrong (静江讲话) names its speech once read right.
            reference = lexicon.catalog.find(_apply(text, fixes))
        # A typo inside quotation marks is one too (“群众利意无小事”).
        quoted = tuple(_apply(q, fixes) for q in quoted)
    words = tokenizer.content_words(core)
    terms = tokenizer.query_terms(core)
    related, extra = _related(core, fixes, tokenizer, lexicon, previous)
    return Query(
        raw=raw,
        text=text,
        terms=tuple(terms),
        tags=words,
        phrases=quoted,
        fragment=fragment,
        has_question_words=asks,
        extra_terms=tuple(t for t in extra if t not in terms),
        related=related,
        reference=reference,
        corrections=fixes,
        outline=outline,
        part=part,
        not_chinese=is_not_chinese(text),
        expects=expects,
        asks_source=lexicon is not None and lexicon.cues.asks_for_source(text),
    )


def _corrected(
    text: str, tokenizer: Tokenizer, lexicon: Lexicon
) -> tuple[str, tuple[Correction, ...]]:
    """The text with the stretches read as typos written as the corpus word they sound like."""
    drop = tokenizer.query_stopwords
    words = ["" if w in drop else w for w in tokenizer.plain_words(text)]
    found = tuple(
        corrections(
            words, lexicon.known, lambda: lexicon.pinyin, lexicon.general_freq, lexicon.fits
        )
    )
    return _apply(text, found), found


def _apply(text: str, fixes: tuple[Correction, ...]) -> str:
    for fix in fixes:
        text = text.replace(fix.typed, fix.meant[0])
    return text


def _related(
    text: str,
    fixes: tuple[Correction, ...],
    tokenizer: Tokenizer,
    lexicon: Lexicon | None,
    forms: dict[str, tuple[str, ...]],
) -> tuple[dict[str, tuple[str, ...]], list[str]]:
    """Question words → the corpus's other words for them (other homophones, synonyms,
    other written `forms`), and those words' search terms."""
    if lexicon is None:
        return {}, []
    related: dict[str, tuple[str, ...]] = {
        fix.meant[0]: fix.meant[1:] for fix in fixes if len(fix.meant) > 1
    } | forms
    for word, others in alternatives(text.lower(), lexicon.synonyms).items():
        if lexicon.doc_freq(word):
            # A word the corpus uses is searched as itself: its synonyms (职工 → 员工,
            # 工人) only add common words to every question (and time to every search).
            continue
        used = tuple(o for o in others if lexicon.doc_freq(o) or _held(o, lexicon))
        if used:
            related[word] = related.get(word, ()) + used
    extra = [t for others in related.values() for o in others for t in tokenizer.query_terms(o)]
    return related, extra


def _held(word: str, lexicon: Lexicon) -> bool:
    """A word the index splits (地区生产总值) but the text holds."""
    return len(word) >= 3 and lexicon.snapshot.may_hold(normalize(word))
