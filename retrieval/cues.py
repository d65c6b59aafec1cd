"""How people phrase things in a chat, read from data/query_cues.toml.

Kept apart from the ranking: these say what a message is (a request for more results, for
a speech's outline, a question not in Chinese) and what of it is filler, not what it is about.
"""

from __future__ import annotations

import functools
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

CUES = Path(__file__).resolve().parents[1] / "data" / "query_cues.toml"

NUMBER, DATE, PERSON = "number", "date", "person"
_NUMERALS = "〇零一二三四五六七八九十百千万亿两"
# What answers each kind of question: 20多万, 三个, 30%; 2023年, 六月, 25日; 郭学勤同志.
_HOLDS = {
    NUMBER: re.compile(rf"\d|[{_NUMERALS}]+(?:多)?[个名位人户家次项所元万亿%倍成]"),
    DATE: re.compile(rf"\d+\s*[年月日号]|[{_NUMERALS}]{{2,4}}年|[{_NUMERALS}]{{1,3}}月"),
    PERSON: re.compile(r"[\u4e00-\u9fff]{2,3}(?:同志|先生|女士|主席|书记|部长|市长)"),
}


def holds(kind: str, text: str) -> bool:
    """Whether the passage holds the kind of fact asked for."""
    return not kind or bool(_HOLDS[kind].search(text))


_HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_LATIN_WORD = re.compile(r"[A-Za-z]{2,}")
_NOT_WORD = re.compile(r"[^\u3400-\u9fff\uf900-\ufaffA-Za-z0-9]+")


@dataclass(frozen=True)
class Cues:
    fillers: tuple[str, ...]
    more_requests: frozenset[str]
    outline_requests: tuple[str, ...]
    place_suffixes: tuple[str, ...]
    congress_words: tuple[str, ...]
    asks: dict[str, tuple[str, ...]]

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
        return _NOT_WORD.sub("", text) in self.more_requests

    def asks_for_outline(self, text: str) -> bool:
        return any(cue in text for cue in self.outline_requests)

    def expected(self, text: str) -> str:
        """What kind of fact the question asks for (NUMBER, DATE, PERSON), or ""."""
        for kind, words in self.asks.items():
            if any(w in text for w in words):
                return kind
        return ""

    def short_names(self, place: str) -> list[str]:
        """Every way to name a place: 杭州市余杭区 → 杭州市余杭区, 杭州市, 杭州, 余杭区, 余杭."""
        names = [place] if place else []
        for part in self.place_pattern.findall(place):
            names.append(part)
            names.append(_strip_suffix(part, self.place_suffixes))
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
    return not _HAN.search(text) and len(_LATIN_WORD.findall(text)) >= 2


@functools.cache
def load(path: Path = CUES) -> Cues:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    return Cues(
        fillers=tuple(data.get("fillers", ())),
        more_requests=frozenset(_NOT_WORD.sub("", w) for w in data.get("more_requests", ())),
        outline_requests=tuple(data.get("outline_requests", ())),
        place_suffixes=tuple(data.get("place_suffixes", ())),
        congress_words=tuple(data.get("congress_words", ())),
        asks={kind: tuple(data.get(f"asks_{kind}", ())) for kind in (DATE, NUMBER, PERSON)},
    )
