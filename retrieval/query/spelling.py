"""Input-method typos: a query word the corpus never uses, read as the corpus word it sounds like.

Pinyin input puts a wrong character of the same sound in place (公会 for 工会, 只工 for 职工,
静江 for 靖江). A stretch of the question that the corpus never uses is looked up by its
toneless pinyin among the corpus's own words; failing that, by a looser pinyin that forgives
the sounds input methods and southern accents confuse (zh/z, ch/c, sh/s, n/l, -ng/-n).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

_HAN_ONLY = re.compile(r"^[\u3400-\u9fff]+$")
# Longest stretch of characters read as one mistyped word.
MAX_WORD = 4
_LOOSE = (("zh", "z"), ("ch", "c"), ("sh", "s"), ("ng", "n"), ("l", "n"))


def pinyin_key(word: str) -> str:
    # Imported here: pypinyin's tables take a quarter of a second to import, and most runs
    # (a question with no typo, an index build) never read a word's sound.
    from pypinyin import Style, lazy_pinyin

    return " ".join(lazy_pinyin(word, style=Style.NORMAL, errors="ignore"))


def loose_key(key: str) -> str:
    for fuzzy, plain in _LOOSE:
        key = key.replace(fuzzy, plain)
    return key


# A stretch that the general dictionary knows this well is a word the user meant (申请, 医院),
# not a typo; rarer ones (公会 187, 宾州 32) are read as typos.
MAX_TYPO_FREQ = 300
# Homophones kept per sound (失业 and 事业 are both shi ye): the ranking picks among them.
MAX_HOMOPHONES = 3


@dataclass(frozen=True)
class Correction:
    """`meant` holds the corpus words that sound like `typed`, most frequent first."""

    typed: str
    meant: tuple[str, ...]


class PinyinIndex:
    """The corpus's words of two to four Chinese characters by sound."""

    def __init__(self, words: Iterable[tuple[str, int]]) -> None:
        exact: dict[str, list[tuple[int, str]]] = {}
        loose: dict[str, list[tuple[int, str]]] = {}
        for word, df in words:
            if not 2 <= len(word) <= MAX_WORD or not _HAN_ONLY.match(word):
                continue
            key = pinyin_key(word)
            exact.setdefault(key, []).append((df, word))
            loose.setdefault(loose_key(key), []).append((df, word))
        self._exact = _most_frequent(exact)
        self._loose = _most_frequent(loose)

    def sounds_like(self, typed: str, freq: int | None = None) -> tuple[str, ...]:
        """Corpus words that sound like `typed`, whose frequency in the general dictionary is
        `freq` (None: not a word there). A looser sound is only trusted for a non-word."""
        if freq is not None and freq > MAX_TYPO_FREQ:
            return ()
        key = pinyin_key(typed)
        found = self._exact.get(key) or (
            self._loose.get(loose_key(key), ()) if freq is None else ()
        )
        return tuple(w for w in found or () if w != typed)


def _most_frequent(table: dict[str, list[tuple[int, str]]]) -> dict[str, tuple[str, ...]]:
    return {
        key: tuple(w for _, w in sorted(pairs, key=lambda p: (-p[0], p[1]))[:MAX_HOMOPHONES])
        for key, pairs in table.items()
    }


def corrections(
    words: list[str],
    known: Callable[[str], bool],
    index: Callable[[], PinyinIndex],
    freq: Callable[[str], int | None],
    fits: Callable[[str], bool] = lambda _: False,
) -> list[Correction]:
    """Corrections for runs of the question's words that the corpus never uses.

    `words` are the question's words in order, with what carries no topic (question words,
    particles) already taken out as "" so that no stretch runs across them. A stretch is
    only a candidate when every word in it is unknown to the corpus or a single character
    (a mistyped character often breaks the segmentation into single characters), and the
    longest stretch that sounds like a corpus word wins. The index of sounds is asked for
    only then: most questions have no such stretch, and building it takes a while.

    Of several words with that sound, the ones that `fit` beside the stretch's neighbours
    in the corpus's text come first (依法治惠 → 依法治会, not 智慧, the commoner word).
    """
    found: list[Correction] = []
    i = 0
    while i < len(words):
        fixed = None
        for size in range(MAX_WORD, 0, -1):
            part = words[i : i + size]
            typed = "".join(part)
            if (
                len(part) < size
                or not 2 <= len(typed) <= MAX_WORD
                or not all(w and (len(w) == 1 or not known(w)) for w in part)
                or known(typed)
            ):
                continue
            meant = index().sounds_like(typed, freq(typed))
            if meant:
                left = words[i - 1] if i else ""
                right = words[i + size] if i + size < len(words) else ""
                fitting = [
                    m for m in meant if (left and fits(left + m)) or (right and fits(m + right))
                ]
                ordered = fitting + [m for m in meant if m not in fitting]
                fixed = Correction(typed, tuple(ordered))
                i += size
                break
        if fixed:
            found.append(fixed)
        else:
            i += 1
    return found
