"""Saved arrays read a slice at a time give what the array holds; arrays written a piece
at a time are what saving them whole writes."""

from pathlib import Path

import numpy as np

from retrieval.index.arrays import Runs, merge_runs, merge_runs_into
from retrieval.index.columns import DiskArray, NpyWriter, TextColumnBuilder


def test_a_disk_array_reads_the_slices_of_the_saved_array(tmp_path: Path) -> None:
    values = np.arange(1000, dtype=np.int32) * 7
    np.save(tmp_path / "a.npy", values)
    disk = DiskArray(tmp_path / "a.npy")
    assert len(disk) == 1000
    for lo, hi in ((0, 0), (0, 1), (5, 17), (990, 1000), (999, 2000)):
        np.testing.assert_array_equal(disk[lo:hi], values[lo:hi])
    np.testing.assert_array_equal(np.asarray(disk), values)


def test_texts_read_from_disk_are_the_texts_saved(tmp_path: Path) -> None:
    texts = ["工会", "", "职工之家建设", "a b"]
    builder = TextColumnBuilder()
    builder.add(texts)
    column = builder.build()
    np.save(tmp_path / "t.npy", column.data)
    on_disk = type(column)(DiskArray(tmp_path / "t.npy"), column.offsets)
    assert [on_disk[i] for i in range(len(texts))] == texts


def test_an_array_written_a_piece_at_a_time_is_what_np_save_writes(tmp_path: Path) -> None:
    cases = [(np.uint32, [np.arange(5), np.arange(3)]), (np.uint8, [b"ab", b"", b"cde"])]
    for kind, pieces in [*cases, (np.int64, [])]:
        writer = NpyWriter(tmp_path / "w.npy", kind)
        for piece in pieces:
            writer.write(piece)
        whole = [np.frombuffer(p, np.uint8) if isinstance(p, bytes) else p for p in pieces]
        np.save(tmp_path / "s.npy", np.concatenate([np.zeros(0, kind), *whole]).astype(kind))
        assert writer.close().read_bytes() == (tmp_path / "s.npy").read_bytes()


def test_merged_a_range_at_a_time_from_files_equals_merged_whole(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    parts, spilled = [], []
    for i, first in enumerate((0, 40, 90)):
        keys = np.repeat(np.sort(rng.choice(50, 20, replace=False)), 3) * 10
        docs = np.tile(np.arange(first, first + 3), 20).astype(np.uint32)
        part = Runs.from_sorted(keys, docs)
        np.save(tmp_path / f"{i}.npy", docs)
        parts.append(part)
        spilled.append(Runs(part.keys, part.counts, (DiskArray(tmp_path / f"{i}.npy"),)))
    keys = np.unique(np.concatenate([p.keys for p in parts]))
    indptr, (whole,) = merge_runs(parts, len(keys), lambda k: np.searchsorted(keys, k))
    for budget in (1, 7, 1000):
        writer = NpyWriter(tmp_path / f"out{budget}.npy", np.uint32)
        ranged = merge_runs_into(
            spilled, len(keys), lambda k: np.searchsorted(keys, k), [writer], budget
        )
        np.testing.assert_array_equal(ranged, indptr)
        np.testing.assert_array_equal(np.load(writer.close()), whole)
