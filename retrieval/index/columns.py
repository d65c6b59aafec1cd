"""Columns of text kept as one UTF-8 buffer and offsets: compact, and readable from disk.

A million paragraphs as Python strings cost gigabytes and seconds to load; as one buffer
they cost their bytes, and a saved index reads only the texts a query touches.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import cached_property
from pathlib import Path
from typing import cast

import numpy as np

from retrieval.index.integrity import DamagedIndex


class DiskArray:
    """A saved one-dimensional array read a slice at a time, never mapped.

    Mapping a big file that is read at random pages in far more than is read (the page
    cache holds it in large folios, and a fault maps a whole one): a few thousand reads
    of a mapped text buffer made it all resident. Read like this, the pages stay in the
    page cache, shared and reclaimable, and out of the process's memory.
    """

    def __init__(self, path: Path) -> None:
        self._file = path.open("rb", buffering=0)
        try:
            fmt = np.lib.format
            version = fmt.read_magic(self._file)
            header = fmt.read_array_header_1_0 if version == (1, 0) else fmt.read_array_header_2_0
            shape, _, self.dtype = header(self._file)
            self._start = self._file.tell()
            # A short file would read as short slices: texts cut off, with no error.
            whole = self._start + int(np.prod(shape)) * self.dtype.itemsize
            if len(shape) != 1 or os.fstat(self._file.fileno()).st_size != whole:
                raise DamagedIndex(f"{path.name}: {shape} does not fit the file")
        except BaseException:
            self._file.close()
            raise
        self.path = path
        self._size = shape[0]

    def __len__(self) -> int:
        return self._size

    def read(self, lo: int, hi: int) -> bytes:
        """The raw bytes of items lo to hi - 1."""
        width = self.dtype.itemsize
        return os.pread(self._file.fileno(), (hi - lo) * width, self._start + lo * width)

    def __getitem__(self, part: slice) -> np.ndarray:
        lo, hi, _ = part.indices(self._size)
        return np.frombuffer(self.read(lo, max(lo, hi)), dtype=self.dtype)

    def __array__(self, dtype: np.dtype | None = None, copy: bool | None = None) -> np.ndarray:
        whole = self[:]
        return whole if dtype is None else whole.astype(dtype)


class TextColumn:
    def __init__(self, data: np.ndarray | DiskArray, offsets: np.ndarray) -> None:
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
        assert isinstance(self.data, np.ndarray)
        # `data` is the array's memoryview: numpy's stubs give ndarray the buffer protocol
        # only from Python 3.12, so mypy rejects memoryview(self.data) on 3.11.
        return self.data.data

    def raw(self, i: int) -> bytes:
        bounds = self._bounds
        if isinstance(self.data, DiskArray):
            return self.data.read(bounds[i], bounds[i + 1])
        return self._view[bounds[i] : bounds[i + 1]].tobytes()

    def __getitem__(self, i: int) -> str:
        return self.raw(i).decode("utf-8")

    def arrays(self, name: str) -> dict[str, np.ndarray | DiskArray]:
        return {f"{name}_data": self.data, f"{name}_offsets": self.offsets}

    @classmethod
    def from_arrays(cls, name: str, arrays: dict[str, np.ndarray | DiskArray]) -> TextColumn:
        # Offsets are never read by slices (persist.READ_BY_SLICES): always an ndarray.
        return cls(arrays[f"{name}_data"], cast(np.ndarray, arrays[f"{name}_offsets"]))


class NpyWriter:
    """A one-dimensional .npy file written a piece at a time, byte for byte what np.save
    writes for the whole array: a build's big arrays never need to be whole in memory.

    The header is written first and again with the final length when closed: numpy pads
    a header so that its length does not depend on the array's (room to grow it in place).
    """

    def __init__(self, path: Path, dtype: type) -> None:
        self.path = path
        self.dtype = np.dtype(dtype)
        self.size = 0
        self._file = path.open("wb")
        self._start = self._header()

    def _header(self) -> int:
        self._file.seek(0)
        fmt = np.lib.format
        descr = fmt.dtype_to_descr(self.dtype)
        fmt.write_array_header_1_0(
            self._file, {"descr": descr, "fortran_order": False, "shape": (self.size,)}
        )
        return self._file.tell()

    def write(self, values: np.ndarray | bytes) -> None:
        """Append items: an array (cast to the file's type) or their raw bytes."""
        data = values if isinstance(values, bytes) else np.ascontiguousarray(values, self.dtype)
        self._file.write(data if isinstance(data, bytes) else data.data)
        self.size += len(data) // self.dtype.itemsize if isinstance(data, bytes) else len(data)

    def close(self) -> Path:
        if not self._file.closed:
            if self._header() != self._start:
                raise ValueError(f"{self.path.name}: the header changed length")
            self._file.close()
        return self.path


class TextColumnBuilder:
    """Appends texts chunk by chunk into one growing buffer, copied never more than once."""

    def __init__(self) -> None:
        self._data = bytearray()
        self._lengths: list[np.ndarray] = []

    def add(self, texts: list[str]) -> None:
        encoded = [t.encode("utf-8") for t in texts]
        self._append(b"".join(encoded))
        self._lengths.append(np.fromiter(map(len, encoded), dtype=np.int64, count=len(encoded)))

    def _append(self, data: bytes) -> None:
        self._data += data

    def offsets(self) -> np.ndarray:
        lengths = np.concatenate(self._lengths) if self._lengths else np.zeros(0, dtype=np.int64)
        offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        return offsets

    def build(self) -> TextColumn:
        return TextColumn(np.frombuffer(self._data, dtype=np.uint8), self.offsets())


class TextColumnWriter(TextColumnBuilder):
    """As TextColumnBuilder, with the buffer written to a .npy file as the texts come: a
    million paragraphs' texts (half a gigabyte) are never in memory."""

    def __init__(self, path: Path, opener: Callable[[Path], np.ndarray | DiskArray]) -> None:
        super().__init__()
        self._out = NpyWriter(path, np.uint8)
        self._open = opener

    def _append(self, data: bytes) -> None:
        self._out.write(data)

    def build(self) -> TextColumn:
        """The column, its buffer opened by `opener` (read by slices or mapped)."""
        return TextColumn(self._open(self._out.close()), self.offsets())
