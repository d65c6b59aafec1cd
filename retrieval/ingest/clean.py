"""Cleaning: a speech as read from a file → clean Simplified paragraphs with their context.

Each rule is a small function tested with real lines of the bundled source (tests/test_clean.py).

Cleaning rules: safe to change; tests/test_clean.py pins what comes out.
"""

from __future__ import annotations

import re
from functools import cache

import opencc

from retrieval.model import Paragraph, RawSpeech, Speech, speech_id

_TONED = "āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜ"
_SYLLABLE = rf"[a-zü]*[{_TONED}][a-zü]*"
# 學(xué)習(xí): a toned syllable in parentheses after a character. Where the page's encoding
# broke, the opening parenthesis and the character before it became "?": 重?fù)?dān).
PINYIN = re.compile(rf"\(\s*{_SYLLABLE}(?:\s+{_SYLLABLE})*\s*\)")
BROKEN_PINYIN = re.compile(rf"\?{_SYLLABLE}\)")

_CJK = r"\u3400-\u9fff\uf900-\ufaff"
_FULL_PUNCT = r"，。、；：？！“”‘’（）《》【】—…·「」『』"
# Encoding damage that survived: "?!", "??", a "?" inside a number (4?28), stray "@" among
# characters, U+FFFD and private-use characters.
DAMAGE = re.compile(
    rf"[?？][!?！？]|[!?！][?？]|\d\?\d|[{_CJK}]@|@[{_CJK}]|[\ufffd\ue000-\uf8ff]"
    rf"|[{_CJK}][!?][{_CJK}]"
)

# Page furniture around the speeches of a scraped page.
BREADCRUMB = re.compile(r"^[^。，,]{1,20}(?:>[^。，,>]{1,20}){2,}>?$")
TIME_SHARE = re.compile(r"^(?:时间|時間)\s*[:：].{0,40}(?:分享|分享到)\s*$")
COLLECTION_TITLE = re.compile(r"【(?:精选|精選)?\s*\d+\s*篇】\s*$")
EDITOR_BLURB = re.compile(r"(?:小编|小編|欢迎大家|歡迎大家|仅供参考|僅供參考)")
PAGE_COUNTER = re.compile(r"^\d{1,12}$")

NUMERAL = "一二三四五六七八九十"
HEADING_START = re.compile(
    rf"^(?:[{NUMERAL}]{{1,3}}[、.．]|[（(][{NUMERAL}]{{1,3}}[）)]|第[{NUMERAL}]{{1,3}}[，、,]"
    rf"|[{NUMERAL}]{{1,3}}[是要])"
)
HEADING_MAX_CHARS = 60
# How a heading is numbered: 一、 / （一） / 第一， / 一是, 一要. A speech nests a later style
# under an earlier one (一、… then 一是…); which comes first differs from speech to speech.
HEADING_STYLES = (
    ("list", re.compile(rf"^[{NUMERAL}]{{1,3}}[、.．]")),
    ("bracket", re.compile(rf"^[（(][{NUMERAL}]{{1,3}}[）)]")),
    ("ordinal", re.compile(rf"^第[{NUMERAL}]{{1,3}}[，、,]")),
    ("point", re.compile(rf"^[{NUMERAL}]{{1,3}}[是要]")),
)
SALUTATION = re.compile(r"^(?:各位代表|同志们|最后|谢谢)")

NTH = rf"第[{NUMERAL}百零]+次"
EVENT = re.compile(rf"([{_CJK}_]{{0,16}}?工会)({NTH}(?:会员)?代表大会)")
PLACE = re.compile(rf"^((?:[{_CJK}]{{1,5}}[省市区县])+)")
COLLECTION_SPEECH = re.compile(r"^\d{4}.{0,20}讲话稿.{0,4}【篇\d+】$")


@cache
def _converter() -> opencc.OpenCC:
    # tw2s, not t2s: on this corpus they differ only in 著, and t2s leaves 隨著 → 随著 and
    # 著力 → 著力 where mainland text (and a staff member typing) writes 随着, 着力.
    return opencc.OpenCC("tw2s")


def to_simplified(text: str) -> str:
    """The one Traditional → Simplified conversion of the project, for text and queries."""
    return _converter().convert(text)


def strip_pinyin(line: str) -> tuple[str, bool]:
    """Remove pinyin annotations; the flag says whether a broken one took text with it."""
    broken = bool(BROKEN_PINYIN.search(line))
    return BROKEN_PINYIN.sub("", PINYIN.sub("", line)), broken


def is_furniture(line: str) -> bool:
    """Breadcrumbs, "时间…分享", a collection title, the editor's blurb, page counters."""
    line = line.strip()
    return bool(
        BREADCRUMB.match(line)
        or TIME_SHARE.match(line)
        or COLLECTION_TITLE.search(line)
        or EDITOR_BLURB.search(line)
        or PAGE_COUNTER.match(line)
    )


def repair(text: str) -> str:
    """Mend damage whose meaning is certain: "4?28" is the 4·28 speech (a lost "·")."""
    return re.sub(r"(\d)\?(\d)", r"\1·\2", text)


def normalize_punctuation(text: str) -> str:
    """Half-width punctuation in Chinese text becomes full-width; stray spaces go.

    Only marks next to a Chinese character change, so 1.5, 2023 and English stay as they
    are. A "?" inside a damaged run stays, so the damage remains visible and flagged.
    """
    text = re.sub(rf"(?<=[{_CJK}{_FULL_PUNCT}])\s+|\s+(?=[{_CJK}{_FULL_PUNCT}])", "", text)
    pairs = {",": "，", ":": "：", ";": "；", "!": "！", "(": "（", ")": "）"}
    for half, full in pairs.items():
        text = re.sub(
            rf"(?<=[{_CJK}{_FULL_PUNCT}])\{half}|\{half}(?=[{_CJK}{_FULL_PUNCT}])", full, text
        )
    return re.sub(rf"(?<=[{_CJK}])\?(?=$|[{_CJK}“”])(?![{_CJK}]*\))", "？", text)


def is_damaged(text: str) -> bool:
    return bool(DAMAGE.search(text))


# Characters that only stand in damaged text here: circled numbers, a backtick, "?" or "@"
# among Chinese characters. A garbled run is the damage marks with up to two characters
# between them (薄⑿撵` in 医?！薄⑿撵`驿站), widened by the character the "?" replaced on
# either side.
_JUNK = re.compile(rf"[\u2460-\u24ff`]|[?？@][{_CJK}]?")
_GAP = 2


def damaged_spans(text: str) -> list[tuple[int, int]]:
    """[start, end) runs of the text that are encoding damage, not speech."""
    marks = sorted(
        (m.start(), m.end()) for pattern in (DAMAGE, _JUNK) for m in pattern.finditer(text)
    )
    spans: list[tuple[int, int]] = []
    for start, end in marks:
        if spans and start <= spans[-1][1] + _GAP:
            spans[-1] = (spans[-1][0], max(end, spans[-1][1]))
        else:
            spans.append((start, end))
    return spans


def heading_style(heading: str) -> str:
    """Which numbering a heading uses (HEADING_STYLES), or ""."""
    return next((name for name, pattern in HEADING_STYLES if pattern.match(heading)), "")


def split_heading(text: str) -> tuple[str, bool]:
    """(heading, standalone) for a line that opens a section, else ("", False).

    一、… / 二要… / （三）… lines that stand alone are headings; in several speeches the
    heading clause starts a long paragraph instead (一是深入学习贯彻…。…), and then the
    first sentence is the heading and the whole line stays a paragraph.
    """
    if not HEADING_START.match(text):
        return "", False
    first = re.split(r"[。；！？!?]", text, maxsplit=1)[0]
    standalone = first == text.rstrip("。") and len(text) <= HEADING_MAX_CHARS
    return first, standalone


# The date a speech gives itself, in its title or its first lines: （2015年7月6日）.
DATE = re.compile(r"(\d{4}年\d{1,2}月\d{1,2}日)")
# Who gave it, where the title says: 张三同志在…上的讲话 / 张三：在…上的讲话.
SPEAKER = re.compile(rf"^([{_CJK}]{{2,4}}?)(?:同志)?[：:]?\s*在.{{2,40}}上的(?:讲话|致辞)")


def extract_date(lines: list[str]) -> str:
    for line in lines:
        match = DATE.search(line)
        if match:
            return match.group(1)
    return ""


def extract_speaker(title: str) -> str:
    match = SPEAKER.match(title)
    return match.group(1) if match else ""


def extract_event(paragraphs: list[str]) -> str:
    """The congress the speech was given at: the one opening or closing, not "…以来".

    A redacted place (__市教科文卫体工会) keeps the name without the placeholder.
    """
    for text in paragraphs:
        for match in EVENT.finditer(text):
            if text[match.end() : match.end() + 2] in ("以来", "召开"):
                continue
            org = match.group(1).lstrip("_").split("，")[-1]
            return _trim_to_place(org) + match.group(2)
    return ""


def _trim_to_place(org: str) -> str:
    """Cut text that precedes the place: "的重要时刻南昌市工会" → "南昌市工会"."""
    for i in range(len(org)):
        tail = org[i:]
        if PLACE.match(tail) or tail.startswith(("市", "区", "县")):
            return tail.lstrip("_")
    return org.lstrip("_")


def extract_place(event: str) -> str:
    match = PLACE.match(event)
    return match.group(1) if match else ""


def derive_title(source_title: str, event: str) -> str:
    """A readable title when the source has only "2023工会代表大会领导讲话稿【篇N】"."""
    if event and (COLLECTION_SPEECH.match(source_title) or not source_title):
        return f"在{event}上的讲话"
    return source_title


def clean_line(line: str) -> tuple[str, bool]:
    """(clean Simplified text, damaged) for one source line."""
    text, broken = strip_pinyin(line)
    text = normalize_punctuation(to_simplified(text))
    damaged = broken or is_damaged(text)
    return repair(text), damaged


def clean_speech(raw: RawSpeech) -> Speech:
    title, _ = clean_line(raw.title)
    paragraphs: list[Paragraph] = []
    heading = ""
    for line in raw.paragraphs:
        text, damaged = clean_line(line)
        if not text or is_furniture(text):
            continue
        found, standalone = split_heading(text)
        if standalone:
            heading = found
            continue
        if found:
            heading = found
        elif SALUTATION.match(text):
            heading = ""
        paragraphs.append(Paragraph(len(paragraphs) + 1, text, heading, line, damaged))
    event = extract_event([p.text for p in paragraphs[:4]])
    return Speech(
        id=speech_id(raw.source, raw.ordinal),
        title=derive_title(title, event),
        source=raw.source,
        ordinal=raw.ordinal,
        paragraphs=tuple(paragraphs),
        event=event,
        place=extract_place(event),
        source_title=raw.title,
        date=extract_date([title, *(p.text for p in paragraphs[:2])]),
        speaker=extract_speaker(title),
    )
