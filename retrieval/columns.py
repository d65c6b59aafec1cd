"""Columns of text kept as one UTF-8 buffer and offsets: compact, and memory-mappable.

A million paragraphs as Python strings cost gigabytes and seconds to load; as one buffer
they cost their bytes, and a saved index maps them from disk, reading only what a query
touches.
"""

from __future__ import annotations

from functools import cached_property

import numpy as np


class TextColumn:
    def __init__(self, data: np.ndarray, offsets: np.ndarray) -> None:
        self.data = data
        self.offsets = offsets

    def __len__(self) -> int:
        return len(self.offsets) - 1

    @cached_property
    def _bounds(self) -> list[int]:
        # Plain ints and a memoryview: indexing a (memory-mapped) numpy array per text costs
        # a microsecond, which is what a phrase check over thousands of paragraphs pays.
        return self.offsets.tolist()

    @cached_property
    def _view(self) -> memoryview:
        return memoryview(self.data)

    def raw(self, i: int) -> bytes:
        bounds = self._bounds
        return self._view[bounds[i] : bounds[i + 1]].tobytes()

    def __getitem__(self, i: int) -> str:
        return self.raw(i).decode("utf-8")

    def arrays(self, name: str) -> dict[str, np.ndarray]:
        return {f"{name}_data": self.data, f"{name}_offsets": self.offsets}

    @classmethod
    def from_arrays(cls, name: str, arrays: dict[str, np.ndarray]) -> TextColumn:
        return cls(arrays[f"{name}_data"], arrays[f"{name}_offsets"])


class TextColumnBuilder:
    """Appends texts chunk by chunk into one growing buffer, copied never more than once."""

    def __init__(self) -> None:
        self._data = bytearray()
        self._lengths: list[np.ndarray] = []

    def add(self, texts: list[str]) -> None:
        encoded = [t.encode("utf-8") for t in texts]
        self._data += b"".join(encoded)
        self._lengths.append(np.fromiter(map(len, encoded), dtype=np.int64, count=len(encoded)))

    def build(self) -> TextColumn:
        lengths = np.concatenate(self._lengths) if self._lengths else np.zeros(0, dtype=np.int64)
        offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        return TextColumn(np.frombuffer(self._data, dtype=np.uint8), offsets)
