"""Which speech a question points at: 南昌十三大, 哈尔滨那次大会, 余杭那篇讲话, 教科文卫体那个会.

The names are worked out from each speech's place and congress (the store has them), so a
new speech is found by its names without anything written by hand.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from retrieval.model import ParagraphRow, SpeechRow
from retrieval.outline import outline_of
from retrieval.query.cues import Cues

_NUMERAL = "[一二三四五六七八九十]{1,3}"
# 第十三次代表大会 / 第十三届工代会 / 十三大 (but not 第一次…会议, 三大活动 or 十大工程): the
# short form only where a congress is talked of (十三大精神, 十三大以来, 十三大上讲的).
_ORDINAL = re.compile(
    rf"第({_NUMERAL})[次届](?:工会|会员)?(?:代表大会|工代会|大会)"
    rf"|({_NUMERAL})大(?=$|[^\u4e00-\u9fff]|精神|以来|上|召开|报告|期间|的|讲|说|提|开)"
)
_EVENT = re.compile(rf"^(.*?)工会第({_NUMERAL})次")
# The congress before the one a question names (上一次代表大会, 上届工代会): a speech counts
# its years from it (十二大以来的六年).
_PREVIOUS = re.compile(r"上一?[次届]的?(?:工会|会员)?(?:代表大会|工代会|大会)")
_DIGITS = "一二三四五六七八九"
# A part of a speech asked for by its number (第三部分, 第一点, 第二个方面), as the speech
# numbers its top sections (一、二、三、) and as the bot cites them (第三部分).
_PART = re.compile(rf"第({_NUMERAL})(?:大?部分|点|个?方面)")


def _number(numeral: str) -> int:
    """十三 → 13, 二十 → 20, 七 → 7 (up to 九十九)."""
    tens, _, ones = numeral.rpartition("十")
    if "十" not in numeral:
        return _DIGITS.index(numeral) + 1
    return (_DIGITS.index(tens) + 1 if tens else 1) * 10 + (_DIGITS.index(ones) + 1 if ones else 0)


def _numeral(n: int) -> str:
    """13 → 十三, 20 → 二十, 7 → 七."""
    tens, ones = divmod(n, 10)
    head = ("" if tens == 1 else _DIGITS[tens - 1]) + "十" if tens else ""
    return head + (_DIGITS[ones - 1] if ones else "")


@dataclass(frozen=True)
class SpeechNames:
    speech_id: str
    names: tuple[str, ...]
    ordinal: str


@dataclass(frozen=True)
class Reference:
    """`speech_ids`: the speeches the question names (empty: none named). `named`: the words
    that named them. `unknown_congress`: it names a congress the corpus does not hold."""

    speech_ids: tuple[str, ...] = ()
    named: tuple[str, ...] = ()
    unknown_congress: bool = False
    ordinals: tuple[str, ...] = ()


class Catalog:
    def __init__(self, speeches: Iterable[tuple[str, str, str]], cues: Cues) -> None:
        """`speeches`: (id, place, congress) of each speech."""
        entries = []
        for speech_id, place, event in speeches:
            names = cues.short_names(place)
            match = _EVENT.match(event)
            ordinal = match.group(2) if match else ""
            if match:
                # What names the union besides its place: 市教科文卫体 → 教科文卫体.
                org = match.group(1).removeprefix(place)
                org = org.lstrip("".join(s for s in cues.place_suffixes if len(s) == 1))
                if len(org) >= 2:
                    names.append(org)
            entries.append(SpeechNames(speech_id, tuple(n for n in names if n), ordinal))
        self.entries = tuple(entries)
        # Names to speeches, and speeches by their congress's number: a question is looked
        # up in these by its own substrings, so an archive of thousands of speeches costs
        # a question no more than the bundled eight.
        self._by_name: dict[str, list[SpeechNames]] = {}
        self._by_ordinal: dict[str, list[SpeechNames]] = {}
        for e in self.entries:
            for name in e.names:
                self._by_name.setdefault(name, []).append(e)
            self._by_ordinal.setdefault(e.ordinal, []).append(e)
        self._longest = max((len(n) for n in self._by_name), default=0)
        self._ordinal = {e.speech_id: e.ordinal for e in self.entries}

    def name_previous(
        self, text: str, reference: Reference
    ) -> tuple[str, dict[str, tuple[str, ...]]]:
        """The text with the congress before the named one called by its number (南昌上一次
        代表大会 → 南昌十二大), and that name's other written form (十二大 → 第十二次)."""
        ordinals = {self.ordinal(i) for i in reference.speech_ids}
        if len(ordinals) != 1 or not (ordinal := ordinals.pop()) or _number(ordinal) < 2:
            return text, {}
        previous = _numeral(_number(ordinal) - 1)
        named, found = _PREVIOUS.subn(f"{previous}大", text)
        return named, ({f"{previous}大": (f"第{previous}次",)} if found else {})

    def ordinal(self, speech_id: str) -> str:
        """The number of the speech's congress (十三 for 第十三次), or ""."""
        return self._ordinal.get(speech_id, "")

    def _named(self, text: str) -> list[SpeechNames]:
        """The speeches one of whose names stands in the text, in catalogue order."""
        found: dict[str, SpeechNames] = {}
        for start in range(len(text)):
            for end in range(start + 2, min(len(text), start + self._longest) + 1):
                for e in self._by_name.get(text[start:end], ()):
                    found[e.speech_id] = e
        return [e for e in self.entries if e.speech_id in found] if found else []

    def find(self, text: str) -> Reference:
        by_name = self._named(text)
        ordinals = {a or b for a, b in _ORDINAL.findall(text)}
        if by_name:
            named = tuple(dict.fromkeys(n for e in by_name for n in e.names if n in text))
            held = [e for e in by_name if not ordinals or e.ordinal in ordinals]
            if not held:
                ids = tuple(e.speech_id for e in by_name)
                return Reference(ids, named, unknown_congress=True, ordinals=tuple(ordinals))
            return Reference(tuple(e.speech_id for e in held), named)
        if ordinals and "工会" in text:
            held = [e for o in ordinals for e in self._by_ordinal.get(o, ())]
            if not held:
                return Reference(unknown_congress=True, ordinals=tuple(ordinals))
            return Reference(tuple(e.speech_id for e in held))
        return Reference()


def part_asked(text: str) -> tuple[int, str]:
    """The number of the part of a speech the text asks about (第三部分 → 3), 0 for none;
    and the text without those words."""
    found = _PART.search(text)
    if not found:
        return 0, text
    return _number(found.group(1)), text[: found.start()] + " " + text[found.end() :]


def part_span(speech: SpeechRow, places: list[tuple[int, str]], part: int) -> tuple[int, int]:
    """The first and last paragraph numbers of the speech's `part`-th top section, from each
    paragraph's (number, heading); (0, -1) when it has no such section."""
    rows = [ParagraphRow(0, speech.id, n, heading, "", False) for n, heading in places]
    tops = [s for s in outline_of(speech, rows).sections if s.level == 1]
    if not 0 < part <= len(tops):
        return 0, -1
    return tops[part - 1].first, tops[part - 1].last
