"""Plain values passed between the stages: files → speeches → store → index → search."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

# A speech id's usual length: short enough to read out and type.
SPEECH_ID_DIGITS = 8


class DiskFull(Exception):
    """The disk (or the database) is full: the change was undone, the old corpus serves."""


def speech_id(source: str, ordinal: int, digits: int = SPEECH_ID_DIGITS) -> str:
    """Stable across reloads: derived from where the speech is, not from its content. The
    store asks for more digits only where the short id is taken (store._free_id)."""
    return hashlib.sha1(f"{source}#{ordinal}".encode()).hexdigest()[:digits]


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
    date: str = ""
    speaker: str = ""


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
    # Runs of the snippet that are encoding damage, not speech (shown as such, never quoted),
    # and those the rest of the corpus mends: (start, end, the clean text).
    damage: tuple[tuple[int, int], ...] = ()
    mended: tuple[tuple[int, int, str], ...] = ()


# How sure an answer is: the passages answer the question; they may be related; nothing.
ANSWER = "answer"
RELATED = "related"
NONE = "none"
# Why nothing was searched: the question is not written in Chinese.
NOT_CHINESE = "not_chinese"


@dataclass(frozen=True)
class Answer:
    """`corrections`: (typed, searched) pairs of words read as typos. `scope`: the speeches
    the question named. `outline`: the speech whose outline was asked for. `closest`: on
    `none`, the speech nearest to the question, as a next step. `notice`: NOT_CHINESE."""

    query: str
    confidence: str
    hits: tuple[Hit, ...]
    took_ms: float = 0.0
    phrase: str = ""
    phrase_count: int = 0
    corrections: tuple[tuple[str, str], ...] = ()
    scope: tuple[str, ...] = ()
    outline: str = ""
    closest: str = ""
    closest_title: str = ""
    notice: str = ""
    # How many relevant passages there are in all (0: not known).
    total: int = 0

    @property
    def answered(self) -> bool:
        return self.confidence != NONE


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


@dataclass(frozen=True)
class SourceRecord:
    path: str
    size: int
    mtime: float
    sha256: str
    loaded_at: float
    speeches: int


@dataclass(frozen=True)
class ParagraphRow:
    """A paragraph with the speech context the index and the replies need."""

    rowid: int
    speech_id: str
    n: int
    heading: str
    text: str
    damaged: bool


@dataclass(frozen=True)
class SpeechRow:
    id: str
    title: str
    event: str
    place: str
    source: str
    ordinal: int
    paragraphs: int
    # Where the text gives them ("" where it does not).
    date: str = ""
    speaker: str = ""
