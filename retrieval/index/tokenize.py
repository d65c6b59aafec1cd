"""jieba tokenisation with the union-domain dictionary and stopword lists shipped in data/."""

from __future__ import annotations

import functools
import hashlib
import logging
import re
import threading
from functools import cached_property
from pathlib import Path

import jieba

from retrieval.index import prefixdict
from retrieval.index.postag import Tagger
from retrieval.text import DATA_DIR, WORD_CHAR

USER_DICT = DATA_DIR / "userdict.txt"
STOPWORDS = DATA_DIR / "stopwords.txt"
QUESTION_WORDS = DATA_DIR / "question_words.txt"
PARTICLES = DATA_DIR / "particles.txt"
# 哪几种, 哪三个, 几大, 哪些: which-and-how-many words, however jieba cuts them, ask for
# something and name nothing (几乎 "almost" does not match).
ASKING = re.compile(r"^[哪几][一二三四五六七八九十两几些]*[个种类项点条样位大名家所届次]?$")

# Bumped by hand when the rules below change, so an index saved under older rules is rebuilt.
RULES_VERSION = "3"


jieba.setLogLevel(logging.WARNING)
_jieba_lock = threading.Lock()


@functools.cache
def _load_jieba() -> jieba.Tokenizer:
    """One dictionary per process: it never changes (prefixdict.py reads it in 0.2 s)."""
    tok = jieba.Tokenizer()
    prefixdict.initialize(tok)
    tok.load_userdict(str(USER_DICT))
    return tok


@functools.cache
def _load_tagger() -> Tagger:
    """Part-of-speech tagging over the same dictionary (it reads the tag list once)."""
    return Tagger(_load_jieba())


def _read_words(path: Path) -> frozenset[str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return frozenset(w.strip() for w in lines if w.strip() and not w.startswith("#"))


class Tokenizer:
    """Search-mode jieba: whole words plus their dictionary sub-words.

    Search mode (cut_for_search) was chosen by measurement on the dev set: a question often
    names a compound (宜宾市总工会) where the text uses a part of it (总工会) or the other way
    round, and the sub-words let both meet. Loading the dictionary takes a fifth of a second, so
    it happens once, lazily, under a lock (reloads run in a worker thread).
    """

    def __init__(self, search_mode: bool = True) -> None:
        self.search_mode = search_mode

    @cached_property
    def stopwords(self) -> frozenset[str]:
        return _read_words(STOPWORDS)

    @cached_property
    def question_words(self) -> frozenset[str]:
        return _read_words(QUESTION_WORDS)

    @cached_property
    def query_stopwords(self) -> frozenset[str]:
        """What a question's topic is not: stopwords, question words, chat particles."""
        return self.stopwords | self.question_words | _read_words(PARTICLES)

    @cached_property
    def version(self) -> str:
        digest = hashlib.sha1()
        for part in (RULES_VERSION, jieba.__version__, str(self.search_mode)):
            digest.update(part.encode())
        for path in (USER_DICT, STOPWORDS):
            digest.update(path.read_bytes())
        return digest.hexdigest()[:12]

    @property
    def engine(self) -> jieba.Tokenizer:
        with _jieba_lock:
            return _load_jieba()

    def words(self, text: str) -> list[str]:
        """Every word jieba sees, in order, before stopwords are taken out.

        jieba segments each run of word characters on its own (punctuation always splits),
        so the runs are segmented once each and remembered: speeches repeat phrases and
        whole clauses, and the result is exactly what segmenting the whole text gives.
        """
        out: list[str] = []
        for block in jieba.re_han_default.split(text):
            if block and WORD_CHAR.search(block):
                out += self._block_words(block)
        return out

    @functools.lru_cache(maxsize=500_000)  # noqa: B019 - one Tokenizer lives per process
    def _block_words(self, block: str) -> tuple[str, ...]:
        cut = self.engine.cut_for_search if self.search_mode else self.engine.cut
        return tuple(w.lower() for w in cut(block) if WORD_CHAR.search(w))

    def plain_words(self, text: str) -> list[str]:
        """Dictionary words without overlap (accurate mode, no guessed words): the stretches
        a typo check reads, where search mode's sub-words would overlap."""
        return [w.lower() for w in self.engine.cut(text, HMM=False) if WORD_CHAR.search(w)]

    def warm(self) -> None:
        """Load the dictionaries now, so the first question is not the one that waits."""
        self.content_words("工会")

    def tokens(self, text: str) -> list[str]:
        """Index terms of a paragraph."""
        stop = self.stopwords
        return [w for w in self.words(text) if w not in stop]

    def asks(self, word: str) -> bool:
        """A question word: it makes a question and names nothing."""
        return word in self.question_words or bool(ASKING.match(word))

    def query_terms(self, text: str) -> list[str]:
        """Index terms of a question: question words and polite filler go too."""
        stop = self.query_stopwords
        return [w for w in self.words(text) if w not in stop and not ASKING.match(w)]

    def content_words(self, text: str) -> dict[str, str]:
        """The words a question is about, whole, once each, with their part of speech.

        Used to judge how much of a question a passage covers: sub-words would count one
        word several times, and HMM-guessed words (滨州梦指 → 梦指) match nothing. The part
        of speech tells place names (ns) apart.
        """
        stop = self.query_stopwords
        words: dict[str, str] = {}
        for word, tag in self.tagger.cut(text):
            word = word.lower()
            if WORD_CHAR.search(word) and word not in stop and not ASKING.match(word):
                words.setdefault(word, tag)
        return words

    @property
    def tagger(self) -> Tagger:
        with _jieba_lock:
            return _load_tagger()


def tokenize_batch(search_mode: bool, texts: list[str]) -> list[str]:
    """Index terms of each text joined by spaces; run in worker processes on big builds."""
    tokenizer = _worker_tokenizer(search_mode)
    return [" ".join(tokenizer.tokens(t)) for t in texts]


@functools.cache
def _worker_tokenizer(search_mode: bool) -> Tokenizer:
    """One per process: its memo of segmented runs (`_block_words`) is per instance, and a
    new one per batch began every batch with none."""
    return Tokenizer(search_mode)
