"""An immutable index snapshot built from the store: BM25 over paragraphs and their context.

Paragraphs are read from the store in chunks and become numpy arrays and text columns, so a
million of them fit in memory and the whole snapshot can be saved (persist.py) and mapped
back at start-up without re-reading or re-tokenising anything.

Exactness-critical: document ids, dead masks and segment offsets feed every score.
"""

from __future__ import annotations

import bisect
import functools
import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

import numpy as np

from retrieval.index.bm25 import BM25, BM25Params
from retrieval.index.columns import TextColumn
from retrieval.index.phrases import NARROWING_RATIO, PhraseIndex
from retrieval.index.postings import Postings
from retrieval.index.topk import Field
from retrieval.model import ParagraphRow, SpeechRow

log = logging.getLogger(__name__)

# A snapshot with more segments than this, or this share of dead documents, is rebuilt whole.
MAX_SEGMENTS = 8
# Bigram counts a snapshot remembers (see Snapshot.bigram_freq): a few MB at most.
BIGRAM_FREQS_KEPT = 200_000
TEXTS_KEPT = 4_096
DEAD_SHARE = 0.25


@dataclass(frozen=True)
class Segment:
    """Paragraphs indexed together once and never changed afterwards: a full build makes
    one segment, and a reload adds one for the files it read. Per paragraph (its position
    is its document id within the segment): `columns` holds rowid, speech, n, heading and
    damaged; `text` indexes the paragraph. `context` indexes what it stands under, once
    for each run of paragraphs of the same speech and heading: run i holds paragraphs
    context_starts[i] to context_starts[i + 1] - 1."""

    key: str
    speech_ids: tuple[str, ...]
    headings: tuple[str, ...]
    columns: dict[str, np.ndarray]
    texts: TextColumn
    text: Postings
    context: Postings
    context_starts: np.ndarray
    phrases: PhraseIndex

    def __len__(self) -> int:
        return len(self.texts)


@dataclass(frozen=True)
class Snapshot:
    """Everything a search needs, never changed after it is built (a reload makes a new one).

    Segments lie end to end, document ids running on from one to the next, in rowid order;
    `dead` marks the documents of files replaced or removed since their segment was built.
    `text` scores the paragraph itself; `context` scores what the paragraph stands under —
    its section heading, its speech's title and congress — so that a question naming a
    congress or a section finds the paragraphs of that speech or section.
    """

    fingerprint: str
    speeches: dict[str, SpeechRow]
    segments: tuple[Segment, ...]
    dead: np.ndarray
    params: BM25Params
    # The text and context fields' document frequencies, when saved with the snapshot.
    doc_freqs: tuple[np.ndarray, np.ndarray] | None = field(default=None, repr=False, compare=False)
    text: BM25 = field(init=False, repr=False)
    context: BM25 = field(init=False, repr=False)
    _bigram_freqs: dict[str, int] = field(init=False, repr=False, compare=False)
    starts: np.ndarray = field(init=False, repr=False)
    _starts: list[int] = field(init=False, repr=False, compare=False)
    # A paragraph's text by document id; the last few thousand read are kept.
    text_of: Callable[[int], str] = field(init=False, repr=False, compare=False)
    context_starts: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "_bigram_freqs", {})
        starts = np.cumsum([0] + [len(s) for s in self.segments])
        runs = [s.context_starts[:-1] + o for s, o in zip(self.segments, starts, strict=False)]
        context_starts = np.concatenate([*runs, starts[-1:]]).astype(np.int64)
        live = (~self.dead).astype(np.int64)
        # How many live paragraphs each context stands for (a dead speech's: none).
        counts = np.add.reduceat(live, context_starts[:-1]) if len(live) else live
        set_(self, "starts", starts)
        set_(self, "_starts", starts.tolist())
        set_(self, "text_of", _text_reader(self.segments, self._starts))
        set_(self, "context_starts", context_starts)
        text_df, context_df = self.doc_freqs or (None, None)
        set_(self, "text", BM25([s.text for s in self.segments], self.params, live, text_df))
        set_(
            self,
            "context",
            BM25([s.context for s in self.segments], self.params, counts, context_df),
        )

    def fields(self, context_weight: float = 1.0) -> tuple[Field, Field]:
        """The paragraph's own words, and (weighted) its context's."""
        return Field(self.text), Field(self.context, context_weight, self.context_starts)

    def __len__(self) -> int:
        """Live paragraphs (document ids run higher when some are dead)."""
        return self.text.n_live

    def _locate(self, doc: int) -> tuple[Segment, int]:
        # bisect on a list: numpy's searchsorted costs microseconds a call, and an answer
        # locates some forty paragraphs.
        starts = self._starts
        i = bisect.bisect_right(starts, doc) - 1
        return self.segments[i], doc - starts[i]

    def row(self, doc: int) -> ParagraphRow:
        seg, at = self._locate(doc)
        c = seg.columns
        return ParagraphRow(
            rowid=int(c["rowid"][at]),
            speech_id=seg.speech_ids[int(c["speech"][at])],
            n=int(c["n"][at]),
            heading=seg.headings[int(c["heading"][at])],
            text=self.text_of(doc),
            damaged=bool(c["damaged"][at]),
        )

    def place(self, doc: int) -> tuple[int, str]:
        """The paragraph's number in its speech and its section heading (read without its
        text)."""
        seg, at = self._locate(doc)
        return int(seg.columns["n"][at]), seg.headings[int(seg.columns["heading"][at])]

    def damaged(self, doc: int) -> bool:
        """Whether cleaning flagged the paragraph as damaged (read without its text)."""
        seg, at = self._locate(doc)
        return bool(seg.columns["damaged"][at])

    def flat_of(self, doc: int) -> str:
        """The paragraph in the comparison form of query.normalize, from the phrase index
        (kept in memory, where the texts are read from disk)."""
        seg, at = self._locate(doc)
        return seg.phrases.flat[at]

    def live(self) -> np.ndarray:
        return np.flatnonzero(~self.dead)

    def speech_docs(self, speech_ids: Iterable[str]) -> np.ndarray:
        """Sorted ids of the live paragraphs of these speeches."""
        wanted = set(speech_ids)
        found = [np.zeros(0, dtype=np.int64)]
        for seg, offset in zip(self.segments, self.starts[:-1].tolist(), strict=True):
            codes = [i for i, s in enumerate(seg.speech_ids) if s in wanted]
            if codes:
                found.append(np.flatnonzero(np.isin(seg.columns["speech"], codes)) + offset)
        docs = np.concatenate(found)
        return docs[~self.dead[docs]]

    def rows(self) -> Iterator[ParagraphRow]:
        return (self.row(doc) for doc in self.live().tolist())

    def context_text(self, doc: int) -> str:
        seg, at = self._locate(doc)
        speech = self.speeches[seg.speech_ids[int(seg.columns["speech"][at])]]
        return context_of(seg.headings[int(seg.columns["heading"][at])], speech)

    def candidates(self, needle: str, narrowing_ratio: float = NARROWING_RATIO) -> np.ndarray:
        """Sorted ids of the live documents holding every bigram of the needle (see
        PhraseIndex.candidates); `holds` tells which really contain it."""
        found = [
            s.phrases.candidates(needle, narrowing_ratio) + int(o)
            for s, o in zip(self.segments, self.starts[:-1], strict=True)
        ]
        docs = np.concatenate(found) if found else np.zeros(0, dtype=np.int64)
        return docs[~self.dead[docs]]

    def bigram_freq(self, bigram: str) -> int:
        """Paragraphs holding the bigram (a replaced file's dead ones counted too: a weight
        needs no more). Remembered: a lookup in the mapped bigram list can touch pages the
        kernel has put out, and questions repeat the same bigrams."""
        known = self._bigram_freqs.get(bigram)
        if known is None:
            known = sum(s.phrases.bigram_freq(bigram) for s in self.segments)
            if len(self._bigram_freqs) < BIGRAM_FREQS_KEPT:
                self._bigram_freqs[bigram] = known
        return known

    def holds(self, needle: str, docs: np.ndarray) -> np.ndarray:
        out = np.empty(len(docs), dtype=bool)
        at = np.searchsorted(self.starts, docs, side="right") - 1
        for i, seg in enumerate(self.segments):
            mine = at == i
            out[mine] = seg.phrases.holds(needle, docs[mine] - int(self.starts[i]))
        return out

    def may_hold(self, needle: str) -> bool:
        """Whether every pair of neighbouring characters of the needle (two characters or
        more) stands somewhere in the paragraphs: true of anything they contain, and read
        from the bigram counts alone, so it never reads postings from disk. Enough to tell
        the words a corpus uses from those it does not; `containing` is exact."""
        if len(needle) < 2:
            return False
        return all(self.bigram_freq(needle[i : i + 2]) for i in range(len(needle) - 1))

    def first_holding(self, needle: str, docs: np.ndarray, count: int) -> np.ndarray:
        """The first `count` of the (sorted) documents that hold the needle, checked a
        growing run at a time rather than all at once."""
        found: list[np.ndarray] = []
        start, size = 0, max(count, 64)
        while start < len(docs) and sum(map(len, found)) < count:
            run = docs[start : start + size]
            found.append(run[self.holds(needle, run)])
            start, size = start + size, size * 4
        return np.concatenate(found)[:count] if found else docs[:0]

    def containing(self, needle: str, narrowing_ratio: float = NARROWING_RATIO) -> np.ndarray:
        """Sorted ids of the live documents whose comparison form contains the needle
        (`narrowing_ratio`: see PhraseIndex.candidates)."""
        docs = self.candidates(needle, narrowing_ratio)
        return docs[self.holds(needle, docs)]

    @property
    def worn(self) -> bool:
        """Too many segments or dead documents: time to build it afresh as one segment."""
        return len(self.segments) > MAX_SEGMENTS or self.dead.sum() > DEAD_SHARE * len(self.dead)


def context_of(heading: str, speech: SpeechRow) -> str:
    return " ".join(part for part in (heading, speech.title, speech.event) if part)


def _text_reader(segments: tuple[Segment, ...], starts: list[int]) -> Callable[[int], str]:
    """Texts are read from disk (columns.DiskArray), a few a question, and an answer reads
    the same ones twice (the fact check, then the quotations): the recent ones are kept.
    The reader holds the segments, not the snapshot, so no cycle keeps an old snapshot
    alive once the garbage collector's generations are frozen (gc.freeze)."""

    @functools.lru_cache(maxsize=TEXTS_KEPT)
    def text_of(doc: int) -> str:
        i = bisect.bisect_right(starts, doc) - 1
        return segments[i].texts[doc - starts[i]]

    return text_of
