"""Saved arrays read a slice at a time give what the array holds."""

from pathlib import Path

import numpy as np

from retrieval.index.columns import DiskArray, TextColumnBuilder


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
