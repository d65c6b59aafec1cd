"""Part-of-speech tags for the words of a question, as jieba.posseg gives them without its
HMM, but without importing jieba.posseg: that module reads jieba's 350,000-line dictionary
for tags at import and again for each tagger made (half a second each), where a sorted
cache of the table reads in a twentieth of that.

Safe to change only together with tests/test_keywords.py, which compares the two.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator

import jieba

from retrieval.index import tempcache

# jieba.posseg's own patterns (posseg/__init__.py), so that words come out the same.
_HAN = re.compile("([\u4e00-\u9fd5a-zA-Z0-9+#&\\._]+)")
_SKIP = re.compile("(\r\n|\\s)")
_ENG = re.compile("[a-zA-Z0-9]+")
_NUM = re.compile("[\\.0-9]+")
_ENG_CHAR = re.compile("^[a-zA-Z0-9]$")


class Tagger:
    """`cut(text)` yields (word, tag) as `jieba.posseg.POSTokenizer(tok).cut(text, HMM=False)`."""

    def __init__(self, tokenizer: jieba.Tokenizer) -> None:
        self.tokenizer = tokenizer
        with tokenizer.get_dict_file() as dictionary:
            self.tags = word_tags(dictionary.name)
        # Words the user dictionary gives a tag (posseg puts them over the dictionary's).
        self.user_tags = dict(tokenizer.user_word_tag_tab)

    def cut(self, text: str) -> Iterator[tuple[str, str]]:
        for block in _HAN.split(text):
            if _HAN.match(block):
                yield from self._dictionary_words(block)
                continue
            for piece in _SKIP.split(block):
                if _SKIP.match(piece):
                    yield piece, "x"
                    continue
                for char in piece:
                    if _NUM.match(char):
                        yield char, "m"
                    else:
                        yield char, "eng" if _ENG.match(piece) else "x"

    def _dictionary_words(self, block: str) -> Iterator[tuple[str, str]]:
        dag = self.tokenizer.get_DAG(block)
        route: dict[int, tuple[float, int]] = {}
        self.tokenizer.calc(block, dag, route)
        x, latin = 0, ""
        while x < len(block):
            y = route[x][1] + 1
            word = block[x:y]
            if _ENG_CHAR.match(word):
                latin += word
            else:
                if latin:
                    yield latin, "eng"
                    latin = ""
                yield word, self.user_tags.get(word) or self.tags.get(word, "x")
            x = y
        if latin:
            yield latin, "eng"


class TagTable:
    """word → tag, looked up by bisection in the sorted lines of the cache ("word\0tag"):
    splitting one string is ten times faster than loading a dict of 350,000 entries, and
    a question looks up a dozen words."""

    def __init__(self, lines: list[str]) -> None:
        self._lines = lines

    def get(self, word: str, default: str) -> str:
        key = word + "\0"
        at = bisect.bisect_left(self._lines, key)
        if at < len(self._lines) and self._lines[at].startswith(key):
            return self._lines[at][len(key) :]
        return default


def word_tags(dictionary: str) -> TagTable:
    """The dictionary's word → tag table, from a cache (tempcache.py)."""
    cache = tempcache.cache_path("postags", dictionary).with_suffix(".txt")
    try:
        return TagTable(cache.read_text(encoding="utf-8").split("\n"))
    except (OSError, UnicodeDecodeError):
        pass
    table: dict[str, str] = {}
    with open(dictionary, encoding="utf-8") as lines:
        for line in lines:
            parts = line.split()
            if len(parts) == 3:
                table[parts[0]] = parts[2]
    # Later lines win, as in jieba.posseg's table.
    sorted_lines = sorted(f"{word}\0{tag}" for word, tag in table.items())
    tempcache.save(cache, "\n".join(sorted_lines).encode("utf-8"))
    return TagTable(sorted_lines)
