"""speechbot's retrieval: corpus files → clean speeches → SQLite → index → answers.

The names below are all that callers (the bot, the command line, benchmarks) use; the
rooms behind them — ingest/, store, index/, query/ — may change shape without notice.
"""

from retrieval.evaluate import evaluate, format_report, load_queries
from retrieval.ingest.clean import damaged_spans
from retrieval.ingest.files import NameTaken, UnsupportedFile
from retrieval.ingest.sources import SUPPORTED_SUFFIXES, SourceError
from retrieval.library import AddedFile, CorpusStats, DamageReport, Library, UnknownSpeech
from retrieval.model import (
    ANSWER,
    NONE,
    NOT_CHINESE,
    RELATED,
    Answer,
    DiskFull,
    Hit,
    IndexReport,
    ParagraphRow,
    SpeechRow,
)
from retrieval.outline import Outline, Section
from retrieval.store import DamagedStore, Database

__all__ = [
    "ANSWER",
    "NONE",
    "NOT_CHINESE",
    "RELATED",
    "SUPPORTED_SUFFIXES",
    "AddedFile",
    "Answer",
    "CorpusStats",
    "DamageReport",
    "DamagedStore",
    "Database",
    "DiskFull",
    "Hit",
    "IndexReport",
    "Library",
    "NameTaken",
    "Outline",
    "ParagraphRow",
    "Section",
    "SourceError",
    "SpeechRow",
    "UnknownSpeech",
    "UnsupportedFile",
    "damaged_spans",
    "evaluate",
    "format_report",
    "load_queries",
]
