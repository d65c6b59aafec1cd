"""Query analysis: what the user typed → Simplified text, search terms and exact phrases."""

from __future__ import annotations

import re
from dataclasses import dataclass

from retrieval.clean import to_simplified
from retrieval.tokenize import Tokenizer

QUOTED = re.compile(r"「([^」]+)」|『([^』]+)』|“([^”]+)”|‘([^’]+)’|\"([^\"]+)\"|'([^']+)'")
_NOT_WORD = re.compile(r"[^\u3400-\u9fff\uf900-\ufaffA-Za-z0-9]+")
WORD_CHAR = re.compile(r"[\u3400-\u9fff\uf900-\ufaffA-Za-z0-9]")

# A pasted fragment is at least this many characters of text; shorter input reads as keywords.
FRAGMENT_MIN_CHARS = 6
MAX_QUERY_CHARS = 500


# 工会十三大 is how people write 工会第十三次代表大会; the speeches use the long form.
CONGRESS_SHORT = re.compile(r"(?<=[会党的])([一二三四五六七八九十]{1,3})大(?![会型力局家])")


def expand_abbreviations(text: str) -> str:
    return CONGRESS_SHORT.sub(r"第\1次代表大会", text)


def normalize(text: str) -> str:
    """The comparison form used for phrases: letters, digits and CJK only, 著 written 着.

    Punctuation and spaces vary between a pasted fragment and the source (识大体、顾大局 vs
    识大体，顾大局), so they take no part in matching. 著 follows the corpus's conversion.
    """
    return _NOT_WORD.sub("", text).replace("著", "着").lower()


@dataclass(frozen=True)
class Query:
    """`phrases` (quoted) and `fragment` (pasted) are kept as typed, for display."""

    raw: str
    text: str
    terms: tuple[str, ...]
    words: tuple[str, ...]
    places: frozenset[str]
    phrases: tuple[str, ...]
    fragment: str
    has_question_words: bool


def analyse(raw: str, tokenizer: Tokenizer) -> Query:
    text = expand_abbreviations(to_simplified(" ".join(raw.split())[:MAX_QUERY_CHARS]))
    quoted = tuple(
        q.strip()
        for q in (next(g for g in m.groups() if g) for m in QUOTED.finditer(text))
        if len(normalize(q)) >= 2
    )
    words = tokenizer.content_words(text)
    asks = any(
        w in tokenizer.question_words for w in tokenizer.words(text)
    ) or text.rstrip().endswith(("?", "？"))
    flat = normalize(text)
    fragment = text if not quoted and not asks and len(flat) >= FRAGMENT_MIN_CHARS else ""
    return Query(
        raw=raw,
        text=text,
        terms=tuple(tokenizer.query_terms(text)),
        words=tuple(words),
        places=frozenset(w for w, flag in words.items() if flag == "ns"),
        phrases=quoted,
        fragment=fragment,
        has_question_words=asks,
    )
