"""A speech's outline: its sections as a tree (一、 → 一是), each with its paragraphs."""

from __future__ import annotations

from dataclasses import dataclass

from retrieval.ingest.clean import heading_style
from retrieval.model import ParagraphRow, SpeechRow


@dataclass(frozen=True)
class Section:
    """A heading, its depth (1: top), and the paragraphs under it, first to last."""

    heading: str
    level: int
    first: int
    last: int


@dataclass(frozen=True)
class Outline:
    speech: SpeechRow
    sections: tuple[Section, ...]
    paragraphs: tuple[ParagraphRow, ...]


CHINESE_NUMBERS = "一二三四五六七八九十"


def part_of(outline: Outline, n: int) -> str:
    """第三部分 for a paragraph under the third top-level section; "" outside any."""
    tops = [s for s in outline.sections if s.level == 1]
    for i, section in enumerate(tops):
        if section.first <= n <= section.last and i < len(CHINESE_NUMBERS):
            return f"第{CHINESE_NUMBERS[i]}部分"
    return ""


def citation(outline: Outline, n: int) -> str:
    """A reference to paste into a document:
    《在滨州市工会第五次代表大会上的讲话》第三部分，第7段."""
    part = part_of(outline, n)
    return f"《{outline.speech.title}》{part + '，' if part else ''}第{n}段"


def outline_of(speech: SpeechRow, paragraphs: list[ParagraphRow]) -> Outline:
    """Sections in reading order; a numbering style seen later than another nests under
    it (the first style seen is level 1)."""
    styles: list[str] = []
    sections: list[Section] = []
    for p in paragraphs:
        if not p.heading:
            continue
        if sections and sections[-1].heading == p.heading:
            sections[-1] = Section(p.heading, sections[-1].level, sections[-1].first, p.n)
            continue
        style = heading_style(p.heading)
        if style not in styles:
            styles.append(style)
        sections.append(Section(p.heading, styles.index(style) + 1, p.n, p.n))
    return Outline(speech, _spanning(sections), tuple(paragraphs))


def _spanning(sections: list[Section]) -> tuple[Section, ...]:
    """Each section running on to the end of the sections nested under it."""
    out = []
    for i, section in enumerate(sections):
        last = section.last
        for later in sections[i + 1 :]:
            if later.level <= section.level:
                break
            last = max(last, later.last)
        out.append(Section(section.heading, section.level, section.first, last))
    return tuple(out)
