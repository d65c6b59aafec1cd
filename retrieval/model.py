"""Plain values passed between the stages: files → speeches → store → index → search."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class RawSpeech:
    """One speech as a reader found it: source text, not yet cleaned."""

    title: str
    paragraphs: tuple[str, ...]
    source: str
    ordinal: int


@dataclass(frozen=True)
class Paragraph:
    n: int
    text: str
    heading: str = ""
    source_text: str = ""
    damaged: bool = False


@dataclass(frozen=True)
class Speech:
    id: str
    title: str
    source: str
    ordinal: int
    paragraphs: tuple[Paragraph, ...]
    event: str = ""
    place: str = ""
    source_title: str = ""


@dataclass(frozen=True)
class Hit:
    rank: int
    score: float
    speech_id: str
    speech_title: str
    event: str
    paragraph: int
    heading: str
    text: str
    snippet: str
    highlights: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True)
class Answer:
    query: str
    answered: bool
    hits: tuple[Hit, ...]
    took_ms: float = 0.0
    phrase: str = ""
    phrase_count: int = 0


@dataclass
class IndexReport:
    files: int = 0
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: int = 0
    speeches: int = 0
    paragraphs: int = 0
    damaged: int = 0
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0
