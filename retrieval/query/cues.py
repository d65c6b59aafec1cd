"""How people phrase things in a chat, read from data/query_cues.toml.

Kept apart from the ranking: these say what a message is (a request for more results, for
a speech's outline, a question not in Chinese) and what of it is filler, not what it is about.

Safe to change: the cues themselves are data (data/query_cues.toml).
"""

from __future__ import annotations

import functools
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from retrieval.text import DATA_DIR, HAN, NOT_WORD

CUES = DATA_DIR / "query_cues.toml"

_NUMERALS = "〇零一二三四五六七八九十百千万亿两"
# Days a speech dates itself by (在春节即将来临之际).
_FESTIVALS = "春节|元旦|元宵|清明|端午|中秋|国庆|五一|七一|新春|新年|岁末|年初|年底|年末"
# A list counts what a count question asks (有几项 → 一是…二是…).
_ENUMERATION = "[一二三四五六七八九十]是|[一二三四五六七八九十]要|第[一二三四五六七八九十][，、,]"
_NUMBER = rf"(?:\d+(?:\.\d+)?|[{_NUMERALS}]+)"
# What answers each kind of question: 2023年, 六月; 郭学勤同志; 500万元; 30%; 20多万.
_FACTS = {
    # 哪一年 asks for a year: 4月28日 does not answer it.
    "year": r"\d{2,4}\s*年|[〇零一二三四五六七八九]{2,4}年",
    "date": rf"\d+\s*[年月日号]|[{_NUMERALS}]{{2,4}}年|[{_NUMERALS}]{{1,3}}月|{_FESTIVALS}",
    "person": r"[\u4e00-\u9fff]{2,3}(?:同志|先生|女士|主席|书记|部长|市长)",
    "money": rf"{_NUMBER}多?[万亿]?元",
    "share": rf"\d+(?:\.\d+)?\s*%|百分之|[{_NUMERALS}]成",
    "number": rf"\d|[{_NUMERALS}]+多?[个名位人户家次项所元万亿%倍成]",
}


_DIGITS = re.compile(r"\d+")


def holds(
    fact: re.Pattern[str] | None,
    text: str,
    near: tuple[str, ...] = (),
    window: int = 0,
    asked: str = "",
) -> bool:
    """Whether the passage holds the kind of fact asked for (None: nothing in particular),
    with `window` > 0: within that many characters of one of the words `near`. A number
    the question itself gives (the 1 and 9 of 1到9月的GDP是多少) answers nothing."""
    if fact is None:
        return True
    given = set(_DIGITS.findall(asked))
    for found in fact.finditer(text):
        if given and _number_at(text, found.start()) in given:
            continue
        if not window or not near:
            return True
        around = text[max(found.start() - window, 0) : found.end() + window]
        if any(word in around for word in near):
            return True
    return False


def _number_at(text: str, at: int) -> str:
    """The run of digits the character at `at` is part of ("" if it is none)."""
    start = end = at
    while start > 0 and text[start - 1].isdigit():
        start -= 1
    while end < len(text) and text[end].isdigit():
        end += 1
    return text[start:end]


_LATIN_WORD = re.compile(r"[A-Za-z]{2,}")


@dataclass(frozen=True)
class Cues:
    fillers: tuple[str, ...]
    more_requests: frozenset[str]
    outline_requests: tuple[str, ...]
    place_suffixes: tuple[str, ...]
    congress_words: tuple[str, ...]
    asks: dict[str, tuple[str, ...]]
    measure_words: str
    source_requests: tuple[str, ...]

    @functools.cached_property
    def _filler_pattern(self) -> re.Pattern[str]:
        return _alternation(self.fillers)

    @functools.cached_property
    def place_pattern(self) -> re.Pattern[str]:
        """A place's parts: 杭州市余杭区 → 杭州市, 余杭区 (a name is at least two characters)."""
        return re.compile(".{2,}?(?:" + "|".join(map(re.escape, self.place_suffixes)) + ")")

    def strip_fillers(self, text: str) -> str:
        return self._filler_pattern.sub(" ", text) if self.fillers else text

    @functools.cached_property
    def _outline_pattern(self) -> re.Pattern[str]:
        return _alternation(self.outline_requests)

    def strip_outline(self, text: str) -> str:
        return self._outline_pattern.sub(" ", text)

    def asks_for_more(self, text: str) -> bool:
        return NOT_WORD.sub("", text) in self.more_requests

    def asks_for_outline(self, text: str) -> bool:
        return any(cue in text for cue in self.outline_requests)

    def asks_for_source(self, text: str) -> bool:
        return any(cue in text for cue in self.source_requests)

    def expected(self, text: str) -> re.Pattern[str] | None:
        """What a passage must hold to answer the question: a date, a person, an amount of
        money, a share, that many of a measure word (多少个 → 三个), that ordinal (第几条 →
        第四十二条), a number; None when the question asks for none of these."""
        for kind, words in self.asks.items():
            if any(w in text for w in words) and kind != "number":
                return re.compile(_FACTS[kind])
        if self.measure_words:
            measures = re.escape(self.measure_words)
            ordinal = re.search(rf"第几([{measures}])", text)
            if ordinal:
                return re.compile(rf"第{_NUMBER}{ordinal.group(1)}")
            # 哪几个 asks for a list; 这几个, 好几个 are no question at all.
            counted = re.search(rf"(?<![哪这那好])(?:多少|几)([{measures}])", text)
            if counted:
                # 个 is the general measure word: 几个劳模 is answered by 三名.
                unit = measures if counted.group(1) == "个" else counted.group(1)
                return re.compile(rf"{_NUMBER}多?[{unit}]|{_ENUMERATION}")
        if any(w in text for w in self.asks.get("number", ())):
            return re.compile(_FACTS["number"])
        return None

    def short_names(self, place: str) -> list[str]:
        """Every way to name a place: 杭州市余杭区 → 杭州市余杭区, 杭州市, 杭州, 余杭区, 余杭;
        哈尔滨市 → 哈尔滨市, 哈尔滨, 哈市."""
        names = [place] if place else []
        for part in self.place_pattern.findall(place):
            names.append(part)
            bare = _strip_suffix(part, self.place_suffixes)
            names.append(bare)
            # A name of three characters or more is also said by its first (哈尔滨市 → 哈市).
            if len(bare) >= 3 and part != bare:
                names.append(bare[0] + part[len(bare) :])
        return list(dict.fromkeys(names))


def _alternation(words: tuple[str, ...]) -> re.Pattern[str]:
    ordered = sorted(set(words), key=len, reverse=True)
    return re.compile("|".join(map(re.escape, ordered)) or "(?!)")


def _strip_suffix(name: str, suffixes: tuple[str, ...]) -> str:
    """The name without its ending, when a name of two characters or more is left."""
    for suffix in sorted(suffixes, key=len, reverse=True):
        if name.endswith(suffix) and len(name) - len(suffix) >= 2:
            return name[: -len(suffix)]
    return name


def is_not_chinese(text: str) -> bool:
    """A question written without a Chinese character, in words of another language (a lone
    abbreviation such as GDP is still searched)."""
    return not HAN.search(text) and len(_LATIN_WORD.findall(text)) >= 2


@functools.cache
def load(path: Path = CUES) -> Cues:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    return Cues(
        fillers=tuple(data.get("fillers", ())),
        more_requests=frozenset(NOT_WORD.sub("", w) for w in data.get("more_requests", ())),
        outline_requests=tuple(data.get("outline_requests", ())),
        place_suffixes=tuple(data.get("place_suffixes", ())),
        congress_words=tuple(data.get("congress_words", ())),
        asks={kind: tuple(data.get(f"asks_{kind}", ())) for kind in _FACTS},
        measure_words=data.get("measure_words", ""),
        source_requests=tuple(data.get("source_requests", ())),
    )
