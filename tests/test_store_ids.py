"""Speech ids never collide in the store, stay what users saw, and two processes writing the
same store wait for each other instead of failing."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from retrieval.ingest.clean import speech_id
from retrieval.library import Library
from retrieval.store import Store

SPEECH = "在测试市工会第一次代表大会上的讲话\n\n各位代表：\n\n{body}\n"
# Two file names whose 8-digit ids are the same.
FIRST, SECOND = "speech_0016277.txt", "speech_0086579.txt"


def _write(path: Path, body: str) -> None:
    path.write_text(SPEECH.format(body=body), encoding="utf-8")


def _ids(library: Library) -> dict[str, str]:
    return {s.source: s.id for s in library.speeches()}


def test_the_two_names_do_collide() -> None:
    assert speech_id(FIRST, 1) == speech_id(SECOND, 1) == "208d9b8d"


def test_colliding_files_index_together_with_stable_ids(tmp_path: Path) -> None:
    docs = tmp_path / "corpus"
    docs.mkdir()
    _write(docs / FIRST, "职工书屋建设要加强。")
    _write(docs / SECOND, "安全生产检查要深入。")
    library = Library(docs, Store(tmp_path / "s.db"))
    report = library.reload()
    assert report.speeches == 2 and not report.warnings
    ids = _ids(library)
    # The first keeps the short id users know; the second gets a longer one, never a clash.
    assert ids[FIRST] == "208d9b8d"
    assert ids[SECOND].startswith("208d9b8d") and len(ids[SECOND]) > 8
    assert library.paragraphs(ids[SECOND])[-1].text == "安全生产检查要深入。"

    _write(docs / FIRST, "职工书屋建设要加强，读书活动要普及。")
    _write(docs / SECOND, "安全生产检查要深入，隐患排查要彻底。")
    assert sorted(library.reload().changed) == [FIRST, SECOND]
    assert _ids(library) == ids
    assert _ids(Library(docs, Store(tmp_path / "s.db"))) == ids

    # With the short id free again, the second file still keeps the id it was given.
    (docs / FIRST).unlink()
    _write(docs / SECOND, "安全生产检查要深入。")
    library.reload()
    assert _ids(library) == {SECOND: ids[SECOND]}
    assert library.search("安全生产检查").hits[0].speech_id == ids[SECOND]


def test_a_writer_waits_for_another_process(tmp_path: Path) -> None:
    docs = tmp_path / "corpus"
    docs.mkdir()
    _write(docs / "a.txt", "职工书屋建设要加强。")
    path = tmp_path / "s.db"
    other = Store(path)
    library = Library(docs, Store(path))
    holding, release = threading.Event(), threading.Event()

    def hold() -> None:
        # Another process in the middle of an index: it holds the write lock a while.
        with other.transaction() as db:
            db.execute("insert into meta (key, value) values ('busy', '1')")
            holding.set()
            release.wait(5)

    thread = threading.Thread(target=hold)
    thread.start()
    holding.wait(5)
    threading.Timer(0.5, release.set).start()
    started = time.perf_counter()
    try:
        report = library.reload()
    finally:
        release.set()
        thread.join()
    assert report.speeches == 1
    assert time.perf_counter() - started >= 0.4
