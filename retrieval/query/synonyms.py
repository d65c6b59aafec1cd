"""Words that mean the same to union staff (data/synonyms.txt): GDP ↔ 地区生产总值."""

from __future__ import annotations

import functools
from pathlib import Path

from retrieval.text import DATA_DIR

SYNONYMS = DATA_DIR / "synonyms.txt"


@functools.cache
def load(path: Path = SYNONYMS) -> dict[str, tuple[str, ...]]:
    """Each word → the other words of every group it belongs to."""
    table: dict[str, dict[str, None]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        group = [w.lower() for w in line.split()] if not line.startswith("#") else []
        for word in group:
            table.setdefault(word, {}).update(dict.fromkeys(w for w in group if w != word))
    return {word: tuple(others) for word, others in table.items()}


def alternatives(text: str, table: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
    """The group words of two characters or more found in the text (longest first, not
    overlapping), each with its others."""
    found: dict[str, tuple[str, ...]] = {}
    taken = [False] * len(text)
    for word in sorted((w for w in table if len(w) >= 2), key=len, reverse=True):
        start = text.find(word)
        while start >= 0:
            end = start + len(word)
            if not any(taken[start:end]):
                taken[start:end] = [True] * len(word)
                found[word] = table[word]
            start = text.find(word, end)
    return found
