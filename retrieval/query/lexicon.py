"""What one snapshot's corpus knows of words: which it uses, how they sound, which speech a
name points at. Built once per snapshot, the costly parts when first needed."""

from __future__ import annotations

from functools import cached_property

from retrieval.index.snapshot import Snapshot
from retrieval.index.tokenize import Tokenizer
from retrieval.query import cues, synonyms
from retrieval.query.scope import Catalog
from retrieval.query.spelling import PinyinIndex
from retrieval.text import normalize


class Lexicon:
    def __init__(self, snapshot: Snapshot, tokenizer: Tokenizer) -> None:
        self.snapshot = snapshot
        self.tokenizer = tokenizer
        self.cues = cues.load()
        self.synonyms = synonyms.load()

    def doc_freq(self, word: str) -> int:
        snap = self.snapshot
        return max(snap.text.doc_freq(word), snap.context.doc_freq(word))

    def fits(self, text: str) -> bool:
        """Whether a run of words may stand in the text (every pair of its characters does,
        somewhere: enough to tell 依法治会 from 依法智慧 without reading postings)."""
        return self.snapshot.may_hold(normalize(text))

    def known(self, word: str) -> bool:
        """Used by the corpus, or a word of the field whose synonyms it may use."""
        return self.doc_freq(word) > 0 or word in self.synonyms

    def general_freq(self, word: str) -> int | None:
        """How common the word is in the general dictionary; None when it is not a word."""
        return self.tokenizer.engine.FREQ.get(word) or None

    @cached_property
    def catalog(self) -> Catalog:
        speeches = self.snapshot.speeches.values()
        return Catalog(((s.id, s.place, s.event) for s in speeches), self.cues)

    @cached_property
    def pinyin(self) -> PinyinIndex:
        text = self.snapshot.text
        return PinyinIndex((t, int(df)) for t, df in zip(text.terms, text.df, strict=True) if df)
