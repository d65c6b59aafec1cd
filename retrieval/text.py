"""The characters that carry words, and the comparison form every stage matches text in."""

from __future__ import annotations

import re
from pathlib import Path

# The bundled data files (dictionaries, stopwords, query cues, the corpus).
DATA_DIR = Path(__file__).resolve().parents[1] / "data"

WORD_CHARS = r"\u3400-\u9fff\uf900-\ufaffA-Za-z0-9"
WORD_CHAR = re.compile(f"[{WORD_CHARS}]")
NOT_WORD = re.compile(f"[^{WORD_CHARS}]+")
HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


def normalize(text: str) -> str:
    """The comparison form used for phrases: letters, digits and CJK only, 著 written 着.

    Punctuation and spaces vary between a pasted fragment and the source (识大体、顾大局 vs
    识大体，顾大局), so they take no part in matching. 著 follows the corpus's conversion.
    """
    return NOT_WORD.sub("", text).replace("著", "着").lower()
