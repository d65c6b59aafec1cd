"""Issue #14, "runs unattended for months": a bad file, a hostile .docx, a full disk, a
missing folder or a damaged store is refused with a named reason, and changes nothing."""

from __future__ import annotations

import errno
import io
import os
import signal
import sqlite3
import stat
import subprocess
import sys
import time
import tracemalloc
import zipfile
from pathlib import Path

import docx
import pytest

from retrieval import DamagedStore, DiskFull, Library, SourceError
from retrieval.ingest import files, sync
from retrieval.ingest.sources import read_file
from retrieval.store import Store

ROOT = Path(__file__).resolve().parents[1]
SPEECH = "在测试市工会第{n}次代表大会上的讲话\n\n各位代表：\n\n{body}\n"
BODY = "职工书屋建设要加强，职工读书活动要普及。"
DOCUMENT = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    b'<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
    b"<w:body>%s</w:body></w:document>"
)


def _text(n: int, body: str = BODY) -> bytes:
    return SPEECH.format(n=n, body=body).encode()


def _corpus(tmp_path: Path, count: int = 2) -> Path:
    docs = tmp_path / "corpus"
    docs.mkdir()
    for n in range(1, count + 1):
        (docs / f"s{n}.txt").write_bytes(_text(n, f"第{n}篇讲话：{BODY}"))
    return docs


def _library(tmp_path: Path, count: int = 2) -> Library:
    library = Library(_corpus(tmp_path, count), Store(tmp_path / "s.db"))
    library.reload()
    return library


def _docx(paragraphs: list[str]) -> bytes:
    document = docx.Document()
    for text in paragraphs:
        document.add_paragraph(text)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def _rezipped(data: bytes, changes: dict[str, bytes | None]) -> bytes:
    """The .docx with some members replaced (bytes) or left out (None)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as old, zipfile.ZipFile(out, "w") as new:
        for info in old.infolist():
            member = changes.get(info.filename, old.read(info))
            if member is not None:
                new.writestr(info.filename, member, zipfile.ZIP_DEFLATED, 9)
    return out.getvalue()


def _with_document(body: bytes) -> bytes:
    return _rezipped(_docx(["x"]), {"word/document.xml": body})


def _state(library: Library) -> tuple[object, ...]:
    """What a failed operation must leave as it was: files, trash, store, answers."""
    docs = library.corpus_dir
    found = sorted(
        (p.relative_to(docs).as_posix(), p.read_bytes()) for p in docs.rglob("*") if p.is_file()
    )
    answer = library.search("职工读书活动")
    return found, library.speeches(), [(h.speech_id, h.paragraph) for h in answer.hits]


# 1. One unreadable file is named and skipped; every other file loads. ----------------------


def test_unreadable_files_are_reported_and_the_rest_load(tmp_path: Path) -> None:
    docs = _corpus(tmp_path, 1)
    good = _docx(["在测试市工会第二次代表大会上的讲话", BODY])
    with zipfile.ZipFile(io.BytesIO(good)) as archive:
        xml = archive.read("word/document.xml")
    (docs / "broken.docx").write_bytes(_rezipped(good, {"word/document.xml": xml[: len(xml) // 2]}))
    (docs / "bad.txt").write_bytes(b"\xff\xfe\xfa\x80\x81" * 20)
    (docs / "x.txt").mkdir()
    (docs / "x.txt" / "inner.txt").write_bytes(_text(3))
    report = Library(docs, Store(tmp_path / "s.db")).reload()
    assert sorted(report.added) == ["s1.txt", "x.txt/inner.txt"]
    assert report.speeches == 2
    reasons = dict(w.split(": ", 1) for w in report.warnings)
    assert set(reasons) == {"broken.docx", "bad.txt", "x.txt"}
    assert reasons["broken.docx"].startswith("not a valid .docx file")
    assert reasons["bad.txt"].startswith("cannot decode")
    assert reasons["x.txt"].startswith("a folder")


# 3. Hostile .docx files are refused before python-docx parses them. ------------------------


def _refused(tmp_path: Path, data: bytes, reason: str) -> None:
    path = tmp_path / "hostile.docx"
    path.write_bytes(data)
    with pytest.raises(SourceError, match=reason):
        read_file(path, tmp_path)


def test_zip_bomb_docx_is_refused(tmp_path: Path) -> None:
    data = _with_document(DOCUMENT % (b"0" * 60 * 2**20))
    assert len(data) < 200_000
    _refused(tmp_path, data, "too large")


def test_docx_compressed_too_tightly_is_refused(tmp_path: Path) -> None:
    _refused(tmp_path, _with_document(DOCUMENT % (b"0" * 8 * 2**20)), "compressed over")


def test_docx_without_its_document_is_refused(tmp_path: Path) -> None:
    data = _rezipped(_docx(["x"]), {"word/document.xml": None})
    _refused(tmp_path, data, r"not a valid \.docx file \(word/document\.xml missing\)")


def test_three_million_tiny_paragraphs_are_refused_fast(tmp_path: Path) -> None:
    data = _with_document(DOCUMENT % (b"<w:p/>" * 3_000_000))
    assert len(data) < 200_000
    tracemalloc.start()
    started = time.perf_counter()
    try:
        _refused(tmp_path, data, "unsafe .docx|too many")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert time.perf_counter() - started < 2
    assert peak < 20 * 2**20


def test_too_many_paragraphs_are_refused_before_parsing(tmp_path: Path) -> None:
    # Text that does not compress well, so only the count can refuse it.
    row = b"<w:p><w:r><w:t>%s</w:t></w:r></w:p>"
    rows = (row % os.urandom(12).hex().encode() for _ in range(25_000))
    _refused(tmp_path, _with_document(DOCUMENT % b"".join(rows)), "too many paragraphs")


def test_billion_laughs_docx_is_refused(tmp_path: Path) -> None:
    entities = b"".join(
        b'<!ENTITY lol%d "%s">' % (i, b"&lol%d;" % (i - 1) * 10) for i in range(1, 10)
    )
    xml = (
        b'<?xml version="1.0"?><!DOCTYPE w:document [<!ENTITY lol0 "lol">%s]>'
        b'<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
        b"<w:body><w:p><w:r><w:t>&lol9;</w:t></w:r></w:p></w:body></w:document>"
    ) % entities
    _refused(tmp_path, _with_document(xml), "declares XML entities")


# 4. An upload is parsed once. ----------------------------------------------------------------


def test_an_upload_is_parsed_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    library = _library(tmp_path)
    calls: list[str] = []
    reader = sync.read_file

    def counting(path: Path, root: Path):  # type: ignore[no-untyped-def]
        calls.append(path.name)
        return reader(path, root)

    monkeypatch.setattr(sync, "read_file", counting)
    added = library.add_file("s1.txt", _text(9, "安全生产检查要深入。"))
    assert added.name == "s1_2.txt"
    assert calls == ["s1_2.txt"]
    assert [s.source for s in library.speeches()] == ["s1.txt", "s1_2.txt", "s2.txt"]


def test_a_name_too_long_for_the_file_system_is_shortened(tmp_path: Path) -> None:
    library = _library(tmp_path)
    added = library.add_file("长" * 100 + ".txt", _text(7))
    assert added.name.endswith(".txt") and len(added.name.encode()) <= files.MAX_NAME_BYTES
    again = library.add_file("长" * 100 + ".txt", _text(8))
    assert again.name != added.name and (library.corpus_dir / again.name).exists()
    library.remove_speech(again.speeches[0][0])
    assert any(library.corpus_dir.joinpath(".trash").iterdir())


# 5. No folder, no upload; /replace and /remove keep the old file in the trash. -------------


def test_uploads_and_removals_refuse_when_the_folder_is_gone(tmp_path: Path) -> None:
    library = _library(tmp_path)
    speeches = library.speeches()
    for path in sorted(library.corpus_dir.iterdir()):
        path.unlink()
    library.corpus_dir.rmdir()
    with pytest.raises(SourceError, match="corpus directory not found"):
        library.add_file("new.txt", _text(5))
    assert not library.corpus_dir.exists()
    with pytest.raises(SourceError, match="corpus directory not found"):
        library.remove_speech(speeches[0].id)
    assert not library.corpus_dir.exists()
    assert library.speeches() == speeches


def test_replace_and_remove_keep_the_old_file_in_the_trash(tmp_path: Path) -> None:
    library = _library(tmp_path)
    trash = library.corpus_dir / ".trash"
    old = (library.corpus_dir / "s1.txt").read_bytes()
    new = _text(7, "安全生产检查要深入。")
    added = library.add_file("s1.txt", new, replace=True)
    assert added.name == "s1.txt"
    assert (library.corpus_dir / "s1.txt").read_bytes() == new
    assert [p.read_bytes() for p in trash.iterdir()] == [old]
    gone = (library.corpus_dir / "s2.txt").read_bytes()
    source, _ = library.remove_speech(library.speeches()[1].id)
    assert source == "s2.txt"
    assert sorted(p.read_bytes() for p in trash.iterdir()) == sorted([old, gone])
    assert [s.source for s in library.speeches()] == ["s1.txt"]


# 6. A full disk is DiskFull, and changes nothing. -------------------------------------------


def _store_full(*_: object) -> None:
    raise sqlite3.OperationalError("database or disk is full")


def _no_space(*_: object) -> None:
    raise OSError(errno.ENOSPC, "No space left on device")


def test_reload_on_a_full_disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    library = _library(tmp_path)
    (library.corpus_dir / "s3.txt").write_bytes(_text(3))
    before = _state(library)
    monkeypatch.setattr(Store, "replace_source", _store_full)
    with pytest.raises(DiskFull):
        library.reload()
    assert _state(library) == before


@pytest.mark.parametrize("replace", [False, True])
@pytest.mark.parametrize("where", ["store", "file"])
def test_upload_on_a_full_disk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str, replace: bool
) -> None:
    library = _library(tmp_path)
    before = _state(library)
    if where == "store":
        monkeypatch.setattr(Store, "replace_source", _store_full)
    else:
        monkeypatch.setattr(files, "write_atomically", _no_space)
    with pytest.raises(DiskFull):
        library.add_file("s1.txt", _text(8, "安全生产检查要深入。"), replace=replace)
    assert _state(library) == before


def test_removal_on_a_full_disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    library = _library(tmp_path)
    before = _state(library)
    monkeypatch.setattr(Store, "delete_source", _store_full)
    with pytest.raises(DiskFull):
        library.remove_speech(library.speeches()[0].id)
    assert _state(library) == before


# 8. Parse workers die with their parent. ----------------------------------------------------

WORKERS_SCRIPT = """
import sys
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from retrieval.ingest.sync import parsed_files
root = Path(sys.argv[2])
for _ in parsed_files(sorted(root.glob("*.txt")), root):
    pass
"""


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        return (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _reading(fifos: list[Path]) -> int | None:
    """A write end of a FIFO a worker is reading (it blocks there), once one is."""
    for fifo in fifos:
        try:
            return os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        except OSError:
            continue
    return None


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="parses in one process")
def test_parse_workers_die_with_their_parent(tmp_path: Path) -> None:
    # Files that block their reader: the workers are busy when the parent is killed.
    fifos = [tmp_path / f"f{i:02d}.txt" for i in range(sync.PARALLEL_MIN_FILES)]
    for fifo in fifos:
        os.mkfifo(fifo)
    script = subprocess.Popen([sys.executable, "-c", WORKERS_SCRIPT, str(ROOT), str(tmp_path)])
    writer, children = None, []
    try:
        deadline = time.monotonic() + 8
        while writer is None and time.monotonic() < deadline:
            time.sleep(0.05)
            writer = _reading(fifos)
        assert writer is not None, "no worker started"
        children = _children(script.pid)
        assert children
        script.send_signal(signal.SIGKILL)
        script.wait()
        deadline = time.monotonic() + 2
        while any(map(_alive, children)) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not any(map(_alive, children))
    finally:
        script.kill()
        for pid in filter(_alive, children):
            os.kill(pid, signal.SIGKILL)
        if writer is not None:
            os.close(writer)


# 9. A damaged store is named, not a traceback. ------------------------------------------


def test_a_damaged_store_is_named(tmp_path: Path) -> None:
    docs = _corpus(tmp_path)
    path = tmp_path / "s.db"
    path.write_bytes(b"this is not a database, only garbage " * 200)
    with pytest.raises(DamagedStore) as raised:
        Library.open(docs, path)
    message = str(raised.value)
    assert str(path) in message and "\n" not in message
    assert stat.S_ISREG(path.stat().st_mode)
