"""`speechbot index` / Library.reload: only changed files are parsed; removed files vanish."""

from pathlib import Path

import pytest

from retrieval.ingest import sync as corpus
from retrieval.library import Library
from retrieval.store import Store

SPEECH = "在测试市工会第一次代表大会上的讲话\n\n各位代表：\n\n{body}\n"


def _write(path: Path, body: str) -> None:
    path.write_text(SPEECH.format(body=body), encoding="utf-8")


@pytest.fixture
def parsed(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Records which files the sync actually parses."""
    seen: list[str] = []
    original = corpus.parse_file

    def spy(path: Path, root: Path):
        seen.append(path.name)
        return original(path, root)

    monkeypatch.setattr(corpus, "parse_file", spy)
    return seen


def test_unchanged_changed_removed(tmp_path: Path, parsed: list[str]) -> None:
    docs = tmp_path / "corpus"
    docs.mkdir()
    _write(docs / "a.txt", "职工书屋建设要加强。")
    _write(docs / "b.txt", "安全生产检查要深入。")
    library = Library(docs, Store(tmp_path / "s.db"))

    first = library.reload()
    assert sorted(first.added) == ["a.txt", "b.txt"]
    assert first.speeches == 2
    assert sorted(parsed) == ["a.txt", "b.txt"]

    parsed.clear()
    again = library.reload()
    assert again.unchanged == 2 and not again.added and not again.changed
    assert parsed == []

    _write(docs / "a.txt", "职工书屋建设要加强，职工读书活动要普及。")
    (docs / "b.txt").unlink()
    parsed.clear()
    report = library.reload()
    assert report.changed == ["a.txt"]
    assert report.removed == ["b.txt"]
    assert parsed == ["a.txt"]
    assert report.speeches == 1
    engine = library.engine
    assert engine.search("读书活动").answered
    assert not engine.search("安全生产检查").answered


def test_bad_file_warns_and_others_load(tmp_path: Path) -> None:
    docs = tmp_path / "corpus"
    docs.mkdir()
    _write(docs / "good.txt", "职工书屋建设要加强。")
    (docs / "empty.txt").write_bytes(b"")
    (docs / "broken.docx").write_bytes(b"not a zip at all")
    report = Library(docs, Store(tmp_path / "s.db")).reload()
    assert report.speeches == 1
    assert len(report.warnings) == 2
    assert any(w.startswith("empty.txt:") for w in report.warnings)
    assert any(w.startswith("broken.docx:") for w in report.warnings)


def test_changed_file_that_breaks_keeps_previous_version(tmp_path: Path) -> None:
    docs = tmp_path / "corpus"
    docs.mkdir()
    _write(docs / "a.txt", "职工书屋建设要加强。")
    library = Library(docs, Store(tmp_path / "s.db"))
    library.reload()
    (docs / "a.txt").write_bytes(b"")
    report = library.reload()
    assert report.speeches == 1
    assert "kept the previous version" in report.warnings[0]
    assert library.engine.search("职工书屋").answered


def test_failed_build_leaves_store_and_engine_unchanged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    docs = tmp_path / "corpus"
    docs.mkdir()
    _write(docs / "a.txt", "职工书屋建设要加强。")
    library = Library(docs, Store(tmp_path / "s.db"))
    library.reload()
    before = library.engine
    _write(docs / "b.txt", "安全生产检查要深入。")

    def boom(*_: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(library, "_build", boom)
    with pytest.raises(RuntimeError):
        library.reload()
    assert library.engine is before
    assert [s.source for s in library.store.speeches()] == ["a.txt"]


def test_hidden_and_trash_folders_are_skipped(tmp_path: Path) -> None:
    docs = tmp_path / "corpus"
    (docs / ".trash").mkdir(parents=True)
    _write(docs / ".trash" / "old.txt", "旧的讲话内容。")
    _write(docs / "a.txt", "职工书屋建设要加强。")
    assert [p.name for p in corpus.corpus_files(docs)] == ["a.txt"]
