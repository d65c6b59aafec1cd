"""Readers: a file on disk → the speeches in it, as source text (cleaning comes next)."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import jieba
import opencc
from charset_normalizer import from_bytes

from retrieval.ingest.docx_text import docx_lines
from retrieval.ingest.errors import SourceError
from retrieval.model import RawSpeech

SUPPORTED_SUFFIXES = frozenset({".txt", ".md", ".docx"})
LEGACY_ENCODINGS = ("gb18030", "big5")

# The scraped web page's speech headings: "2023工會代表大會領導講話稿【篇3】" (pinyin may follow).
WEB_HEADING = re.compile(r"^.{0,80}【篇\s*\d+\s*】\s*$")
_CJK = re.compile(r"[\u4e00-\u9fff]")
_MD_PREFIX = re.compile(r"^\s{0,3}(?:#{1,6}\s*|>\s*|[-*+]\s+)")
_MD_EMPHASIS = re.compile(r"(\*\*|__|\*|`)(.+?)\1")


def read_file(path: Path, root: Path) -> list[RawSpeech]:
    """The speeches of one file; raises SourceError naming what is wrong with it."""
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise SourceError(f"unsupported file type {suffix or '(none)'}")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SourceError(f"cannot read file ({exc.strerror or exc})") from exc
    if not data.strip():
        raise SourceError("empty file")
    source = path.relative_to(root).as_posix()
    if suffix == ".docx":
        lines = docx_lines(data)
    else:
        lines = text_lines(decode_bytes(data), markdown=suffix == ".md")
    if not lines:
        raise SourceError("no text found")
    speeches = split_web_page(lines, source) or [single_speech(lines, source)]
    if not any(s.paragraphs for s in speeches):
        raise SourceError("no speech text found (only a title)")
    return speeches


def decode_bytes(data: bytes) -> str:
    """UTF-8 (with or without BOM) first; otherwise the likelier of GB18030 and Big5.

    Strict decoding alone cannot choose: GB18030 decodes Big5 bytes into garbage without
    an error (哈爾濱市工會 comes out as в焊镭カ穦). Both are tried, and the decoding that
    reads most like Chinese text wins; charset-normalizer breaks ties.
    """
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    candidates = {}
    for encoding in LEGACY_ENCODINGS:
        try:
            candidates[encoding] = data.decode(encoding)
        except UnicodeDecodeError:
            continue
    if not candidates:
        raise SourceError("cannot decode text as UTF-8, GB18030 or Big5")
    if len(candidates) == 1:
        return next(iter(candidates.values()))
    scored = {enc: plausibility(text) for enc, text in candidates.items()}
    best = max(scored.values())
    leaders = [enc for enc, score in scored.items() if score == best]
    if len(leaders) == 1:
        return candidates[leaders[0]]
    guess = from_bytes(data, cp_isolation=list(LEGACY_ENCODINGS)).best()
    encoding = guess.encoding if guess and guess.encoding in candidates else "gb18030"
    return candidates[encoding]


def plausibility(text: str) -> float:
    """How much a decoding reads like Chinese: ordinary characters, and dictionary words.

    A wrong legacy decoding is full of kana, Cyrillic, private-use and rare characters, and
    its characters seldom form words; a right one (Simplified or Traditional) does both.
    """
    if not text:
        return 0.0
    ordinary = sum(
        1
        for ch in text
        if ch.isascii()
        or "\u4e00" <= ch <= "\u9fff"
        or "\u3000" <= ch <= "\u303f"
        or "\uff00" <= ch <= "\uffef"
        or ch in "“”‘’…—·"
    )
    return ordinary / len(text) + word_share(text)


def word_share(text: str) -> float:
    """Share of CJK characters that stand in two-or-more-character dictionary words."""
    simplified = _t2s().convert(text)
    cjk = len(_CJK.findall(simplified))
    if not cjk:
        return 0.0
    words = _dictionary()
    covered = i = 0
    while i < len(simplified):
        for size in (4, 3, 2):
            if simplified[i : i + size] in words:
                covered += size
                i += size
                break
        else:
            i += 1
    return covered / cjk


@cache
def _t2s() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


@cache
def _dictionary() -> frozenset[str]:
    """jieba's own word list (no segmentation needed: a greedy look-up is enough here)."""
    with jieba.get_dict_file() as lines:
        words = (line.decode("utf-8").split(" ", 1)[0] for line in lines)
        return frozenset(w for w in words if 2 <= len(w) <= 4)


def text_lines(text: str, markdown: bool = False) -> list[str]:
    lines = []
    for line in text.splitlines():
        line = line.strip()
        if markdown:
            line = _MD_EMPHASIS.sub(r"\2", _MD_PREFIX.sub("", line)).strip()
        if line:
            lines.append(line)
    return lines


def split_web_page(lines: list[str], source: str) -> list[RawSpeech]:
    """The web-page format: speeches start at "…【篇N】" lines; what comes before is furniture."""
    starts = [i for i, line in enumerate(lines) if WEB_HEADING.match(line)]
    speeches = []
    for ordinal, start in enumerate(starts, 1):
        end = starts[ordinal] if ordinal < len(starts) else len(lines)
        speeches.append(RawSpeech(lines[start], tuple(lines[start + 1 : end]), source, ordinal))
    return speeches


def single_speech(lines: list[str], source: str) -> RawSpeech:
    return RawSpeech(lines[0], tuple(lines[1:]), source, 1)
