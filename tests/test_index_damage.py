"""A damaged saved index is built again from the store, with a warning: never a crash, a
segmentation fault in a compiled loop, or a hit with empty text; and the scratch folders
of a save killed half-way are gone after the next start.

The index is saved as a big corpus's would be: only meta.json checksummed, every array
mapped or read a slice at a time, so the structural checks alone must find the damage.
Cases that could crash a compiled loop run in a child process: a regression fails the test
instead of killing the test run.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from bot.config import BUNDLED_CORPUS
from retrieval.index import integrity, persist
from retrieval.library import Library

ROOT = Path(__file__).resolve().parents[1]
QUESTIONS = ("全心全意为职工服务", "“职工群众”", "工会工作怎么做", "“代表大会”")
WARNING = "saved snapshot unreadable"

# Opens each damaged copy in a child process and prints its answers (see `answers`).
CHILD = """
import json, logging, sys
from pathlib import Path
from retrieval.index import persist
from retrieval.library import Library
from tests.test_index_damage import answers
persist.MAP_BYTES = 0
logging.basicConfig(level=logging.WARNING, format="%(message)s")
for store in sys.argv[2:]:
    library = Library.open(Path(sys.argv[1]), Path(store))
    print(json.dumps(answers(library)), flush=True)
    library.wait_saved()
"""


def answers(library: Library) -> list:
    """What the questions find, as plain values (the child process prints them)."""
    found = []
    for question in QUESTIONS:
        answer = library.search(question, k=5)
        hits = [[h.speech_id, h.paragraph, h.text, round(h.score, 9)] for h in answer.hits]
        found.append([answer.phrase_count, answer.total, hits])
    return found


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list]:
    """The bundled corpus's store and saved index, and what a fresh build answers."""
    folder = tmp_path_factory.mktemp("saved")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(integrity, "CHECKSUM_BYTES", 0)
        library = Library.open(BUNDLED_CORPUS, folder / "s.db")
        fresh = answers(library)
        library.wait_saved()
    return folder, fresh


def _copy(saved: tuple[Path, list], to: Path) -> Path:
    # The store's log is folded in after each reload; its -wal and -shm files come and go
    # with the fixture's open connection.
    shutil.copytree(saved[0], to, ignore=shutil.ignore_patterns("*-wal", "*-shm"))
    return to


@pytest.fixture
def copy(saved: tuple[Path, list], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the saved store and index, its arrays read as a big corpus's are."""
    monkeypatch.setattr(persist, "MAP_BYTES", 0)
    return _copy(saved, tmp_path / "copy")


def _segment(copy: Path) -> Path:
    (segment,) = (copy / "s.db.index" / "segments").iterdir()
    return segment


def _snapshot(copy: Path) -> Path:
    (snapshot,) = [p for p in (copy / "s.db.index").iterdir() if p.name != "segments"]
    return snapshot


def _edit(path: Path, change: Callable[[np.ndarray], None]) -> None:
    """Overwrite a saved array in place: the file keeps its size and header."""
    values = np.load(path, mmap_mode="r+")
    change(values)
    values.flush()


def _fill(value: int) -> Callable[[np.ndarray], None]:
    return lambda values: values.fill(value)


def _backwards(values: np.ndarray) -> None:
    values[:] = values[::-1].copy()


def _middle(value: int) -> Callable[[np.ndarray], None]:
    """Every value but the first and the last."""
    return lambda values: values[1:-1].fill(value)


def _rewrite_meta(folder: Path, change: Callable[[dict], None]) -> None:
    """meta.json changed and signed again, as a wrong save would leave it."""
    meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    change(meta)
    text = json.dumps(meta, ensure_ascii=False).encode("utf-8")
    (folder / "meta.json").write_bytes(text)
    sums = folder / "checksums.json"
    if sums.exists():
        signed = json.loads(sums.read_text(encoding="utf-8"))
        sums.write_text(json.dumps({**signed, "meta.json": zlib.crc32(text)}), encoding="utf-8")


def _rebuilt(
    copy: Path, fresh: list, caplog: pytest.LogCaptureFixture, damaged: bool = True
) -> None:
    """Opening the copy warns (when damaged) and answers as a fresh build; the next start
    then loads what that one saved, without a warning."""
    for warned in (damaged, False):
        caplog.clear()
        with caplog.at_level(logging.WARNING):
            library = Library.open(BUNDLED_CORPUS, copy / "s.db")
            assert answers(library) == fresh
            library.wait_saved()
        assert any(WARNING in r.getMessage() for r in caplog.records) == warned


def _child(code: str, *args: str) -> subprocess.CompletedProcess:
    """Run the code in a child process, from the project's folder (where it imports)."""
    command = [sys.executable, "-c", code, *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=ROOT)


def test_an_intact_copy_loads_without_a_warning(
    saved: tuple[Path, list], copy: Path, caplog: pytest.LogCaptureFixture
) -> None:
    _rebuilt(copy, saved[1], caplog, damaged=False)


def _edit_segment(copy: Path, name: str, change: Callable[[np.ndarray], None]) -> Path:
    _edit(_segment(copy) / name, change)
    return copy


def test_damage_that_could_crash_a_compiled_loop_is_built_again(
    saved: tuple[Path, list], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # Posting ids far past the last paragraph, or in range but out of order, and phrase
    # offsets out of order: read by compiled loops (one child process for all: a start-up
    # costs seconds).
    copies = [
        _edit_segment(_copy(saved, tmp_path / "ids"), "bm25_text_doc_ids.npy", _fill(1 << 30)),
        _edit_segment(_copy(saved, tmp_path / "order"), "bm25_text_doc_ids.npy", _backwards),
        _edit_segment(_copy(saved, tmp_path / "flat"), "flat_offsets.npy", _middle(1 << 40)),
    ]
    done = _child(CHILD, str(BUNDLED_CORPUS), *(str(copy / "s.db") for copy in copies))
    assert done.returncode == 0, done.stderr[-2000:]
    assert [json.loads(line) for line in done.stdout.splitlines()] == [saved[1]] * 3
    assert done.stderr.count(WARNING) == 3, done.stderr[-2000:]
    for copy in copies:
        _rebuilt(copy, saved[1], caplog, damaged=False)


def test_text_offsets_past_the_text_are_built_again(
    saved: tuple[Path, list], copy: Path, caplog: pytest.LogCaptureFixture
) -> None:
    _edit_segment(copy, "text_offsets.npy", _middle(1 << 20))
    _rebuilt(copy, saved[1], caplog)


def test_a_damaged_dead_mask_is_built_again(
    saved: tuple[Path, list], copy: Path, caplog: pytest.LogCaptureFixture
) -> None:
    dead = _snapshot(copy) / "dead.npy"
    np.save(dead, np.load(dead)[:-5])
    _rebuilt(copy, saved[1], caplog)


def test_document_frequencies_are_signed_whatever_their_size(
    saved: tuple[Path, list], copy: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # Saved with only meta.json checksummed by size: one count off would change scores and
    # no structural check could see it.
    _edit(_snapshot(copy) / "df_text.npy", lambda df: df.__setitem__(0, df[0] + 1))
    _rebuilt(copy, saved[1], caplog)


def test_a_snapshot_saved_without_document_frequencies_works_them_out(
    saved: tuple[Path, list], copy: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = _snapshot(copy)
    for name in ("df_text.npy", "df_context.npy"):
        (folder / name).unlink()
    sums = json.loads((folder / "checksums.json").read_text(encoding="utf-8"))
    sums = {k: v for k, v in sums.items() if not k.startswith("df_")}
    (folder / "checksums.json").write_text(json.dumps(sums), encoding="utf-8")
    _rebuilt(copy, saved[1], caplog, damaged=False)


def _a_segment_named_by_a_number(snapshot: Path, segment: Path) -> None:
    _rewrite_meta(snapshot, lambda meta: meta.update(segments=[7]))


def _speech_ids_a_number(snapshot: Path, segment: Path) -> None:
    _rewrite_meta(segment, lambda meta: meta.update(speech_ids=7))


def _known_terms_a_string(snapshot: Path, segment: Path) -> None:
    _rewrite_meta(segment, lambda meta: meta.update(known_terms={"text": "0", "context": 0}))


def _headings_numbers(snapshot: Path, segment: Path) -> None:
    _rewrite_meta(segment, lambda meta: meta.update(headings=list(range(len(meta["headings"])))))


@pytest.mark.parametrize(
    "damage",
    [_a_segment_named_by_a_number, _speech_ids_a_number, _known_terms_a_string, _headings_numbers],
    ids=lambda f: f.__name__,
)
def test_meta_of_the_wrong_types_is_built_again(
    saved: tuple[Path, list],
    copy: Path,
    caplog: pytest.LogCaptureFixture,
    damage: Callable[[Path, Path], None],
) -> None:
    damage(_snapshot(copy), _segment(copy))
    _rebuilt(copy, saved[1], caplog)


def test_a_truncated_text_buffer_is_built_again(
    saved: tuple[Path, list], copy: Path, caplog: pytest.LogCaptureFixture
) -> None:
    text = _segment(copy) / "text_data.npy"
    os.truncate(text, text.stat().st_size // 2)
    _rebuilt(copy, saved[1], caplog)


@pytest.mark.parametrize("name", ["dead.npy", "meta.json"])
def test_small_files_changed_within_their_types_fail_their_checksums(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, name: str
) -> None:
    # Saved as a small corpus is: every file this small is checksummed.
    library = Library.open(BUNDLED_CORPUS, tmp_path / "s.db")
    fresh = answers(library)
    library.wait_saved()
    root = tmp_path / "s.db.index"
    if name == "dead.npy":
        (snapshot,) = [p for p in root.iterdir() if p.name != "segments"]
        _edit(snapshot / "dead.npy", lambda dead: dead.fill(True))
    else:
        (segment,) = (root / "segments").iterdir()
        meta = segment / "meta.json"
        meta.write_text(meta.read_text(encoding="utf-8").replace("工会", "公会"), encoding="utf-8")
    _rebuilt(tmp_path, fresh, caplog)


def _scratch(copy: Path) -> list[Path]:
    """Scratch folders as a save killed half-way leaves them, in both places it writes."""
    made = [
        copy / "s.db.index" / f".{_snapshot(copy).name}.k1ll3d.tmp",
        copy / "s.db.index" / "segments" / f".{_segment(copy).name}.k1ll3d.tmp",
    ]
    for folder in made:
        folder.mkdir()
        np.save(folder / "col_rowid.npy", np.arange(3))
    return made


def test_scratch_of_an_interrupted_save_is_removed_on_the_next_start(
    saved: tuple[Path, list], copy: Path, caplog: pytest.LogCaptureFixture
) -> None:
    scratch = _scratch(copy)
    _rebuilt(copy, saved[1], caplog, damaged=False)
    assert not any(folder.exists() for folder in scratch)


def test_scratch_of_a_save_under_way_is_kept(copy: Path) -> None:
    library = Library.open(BUNDLED_CORPUS, copy / "s.db")
    snapshot = library.engine.snapshot
    library.wait_saved()
    root, scratch = copy / "s.db.index", _scratch(copy)
    with persist._saving(root):
        persist.prune(root, snapshot)
        assert all(folder.exists() for folder in scratch)
    persist.prune(root, snapshot)
    assert not any(folder.exists() for folder in scratch)


PHRASE_CHILD = """
import numpy as np
from retrieval.index.columns import TextColumnBuilder
from retrieval.index.integrity import DamagedIndex
from retrieval.index.phrases import PhraseIndex
texts = ["职工群众和工会", "工会工作", "广大职工群众"]
flat = TextColumnBuilder()
flat.add(texts)
good = PhraseIndex.from_chunks(flat.build(), [PhraseIndex.chunk_postings(texts, 0)])
backwards = good.docs.copy()
for lo, hi in zip(good.indptr[:-1], good.indptr[1:]):
    backwards[lo:hi] = good.docs[lo:hi][::-1]
for docs in (good.docs + np.uint32(1 << 20), backwards):
    index = PhraseIndex(good.flat, good.grams, good.indptr, docs)
    try:
        print(index.holds("职工群众", index.candidates("职工群众")))
    except DamagedIndex:
        print("damaged")
"""


def test_damaged_bigram_postings_raise_as_they_are_read() -> None:
    # Read a slice at a time, they are checked as read: an id past the last paragraph, or
    # out of order, would take the compiled phrase check or top-k out of their arrays.
    done = _child(PHRASE_CHILD)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["damaged", "damaged"]
