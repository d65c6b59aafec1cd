"""Readers: every format and encoding staff have, and the files that must be refused."""

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import docx
import pytest

from bot.config import BUNDLED_CORPUS
from retrieval.ingest.docx_text import docx_lines
from retrieval.ingest.sources import SourceError, decode_bytes, read_file

WORDML = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"

SPEECH_T = "哈爾濱市工會第十七次代表大會今天隆重開幕了。首先，我代表市委向大會表示熱烈的祝賀！"
SPEECH_S = "为职工服务是工会的立身之本。全区各级工会组织要始终坚持维护好职工合法权益。"


def _write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_web_page_splits_into_its_eight_speeches() -> None:
    path = next(BUNDLED_CORPUS.glob("*.txt"))
    speeches = read_file(path, BUNDLED_CORPUS)
    assert [s.ordinal for s in speeches] == list(range(1, 9))
    assert all("【篇" in s.title for s in speeches)
    assert speeches[0].source == "000_31ab44726c7746e9.txt"
    # The breadcrumbs and blurb before the first speech are not part of any speech.
    assert not any("學(xué)習(xí)啦" in p for s in speeches for p in s.paragraphs)


@pytest.mark.parametrize("bom", [b"", b"\xef\xbb\xbf"])
def test_utf8_text_with_and_without_bom(tmp_path: Path, bom: bytes) -> None:
    text = f"在职工代表大会上的讲话\n\n各位代表：\n{SPEECH_S}\n"
    speeches = read_file(_write(tmp_path, "a.txt", bom + text.encode()), tmp_path)
    assert len(speeches) == 1
    assert speeches[0].title == "在职工代表大会上的讲话"
    assert speeches[0].paragraphs == ("各位代表：", SPEECH_S)


@pytest.mark.parametrize("encoding", ["gbk", "gb18030"])
def test_gbk_text(tmp_path: Path, encoding: str) -> None:
    data = f"在职工代表大会上的讲话\n{SPEECH_S}\n".encode(encoding)
    speeches = read_file(_write(tmp_path, "gbk.txt", data), tmp_path)
    assert speeches[0].paragraphs == (SPEECH_S,)


def test_big5_text(tmp_path: Path) -> None:
    data = f"在哈爾濱市工會第十七次代表大會上的講話\n{SPEECH_T}\n".encode("big5")
    speeches = read_file(_write(tmp_path, "big5.txt", data), tmp_path)
    assert speeches[0].title == "在哈爾濱市工會第十七次代表大會上的講話"
    assert speeches[0].paragraphs == (SPEECH_T,)


@pytest.mark.parametrize(
    ("text", "encoding"),
    [("工會", "big5"), ("工会", "gbk"), ("勞動競賽", "big5"), ("劳动竞赛", "gb18030")],
)
def test_short_legacy_texts_decode_right(text: str, encoding: str) -> None:
    assert decode_bytes(text.encode(encoding)) == text


def test_undecodable_bytes_are_refused(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="cannot decode"):
        read_file(_write(tmp_path, "x.txt", b"\xff\xfe\xfa\x80\x81" * 20), tmp_path)


def test_markdown(tmp_path: Path) -> None:
    text = f"# 在职工代表大会上的讲话\n\n## 一、服务大局\n\n**{SPEECH_S}**\n"
    speeches = read_file(_write(tmp_path, "a.md", text.encode()), tmp_path)
    assert speeches[0].title == "在职工代表大会上的讲话"
    assert speeches[0].paragraphs == ("一、服务大局", SPEECH_S)


def test_docx_with_title_and_section_heading(tmp_path: Path) -> None:
    document = docx.Document()
    document.add_paragraph("2023年5月")
    document.add_heading("在宜宾市工会第四次代表大会上的讲话", level=1)
    document.add_heading("一、服务大局", level=2)
    document.add_paragraph(SPEECH_S)
    document.add_paragraph("")
    path = tmp_path / "speech.docx"
    document.save(path)
    speeches = read_file(path, tmp_path)
    assert speeches[0].title == "在宜宾市工会第四次代表大会上的讲话"
    assert speeches[0].paragraphs == ("2023年5月", "一、服务大局", SPEECH_S)


def test_corrupt_docx_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match=r"not a valid \.docx"):
        read_file(_write(tmp_path, "bad.docx", b"PK\x03\x04 this is not a zip"), tmp_path)


def test_empty_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="empty"):
        read_file(_write(tmp_path, "empty.txt", b" \n\n"), tmp_path)


def test_title_only_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="no speech text"):
        read_file(_write(tmp_path, "t.txt", "在职工代表大会上的讲话\n".encode()), tmp_path)


def test_unsupported_suffix_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="unsupported"):
        read_file(_write(tmp_path, "a.pdf", b"%PDF-1.4"), tmp_path)


def test_docx_text_is_what_python_docx_reads(tmp_path: Path) -> None:
    document = docx.Document()
    document.add_paragraph("日期：2016年3月1日")
    document.add_heading("在某市工会代表大会上的讲话", level=0)
    document.add_heading("一、回顾", level=1)
    run = document.add_paragraph("同志们：").add_run()
    run.add_tab()
    run.add_text("今天召开大会。")
    document.add_paragraph("")
    table = document.add_table(rows=1, cols=1)
    table.cell(0, 0).text = "表格里的字不是讲话"
    document.add_paragraph("最后一段。")
    path = tmp_path / "speech.docx"
    document.save(str(path))
    expected = [p.text.strip() for p in docx.Document(str(path)).paragraphs if p.text.strip()]
    title = expected.pop(1)
    assert docx_lines(path.read_bytes()) == [title, *expected]


def test_a_large_docx_is_streamed_not_held(tmp_path: Path) -> None:
    # About 20 MB of XML that compresses like text: a tree of it takes hundreds of MB.
    text = os.urandom(8000 * 60 * 8).hex()
    body = "".join(
        "<w:p>"
        + "".join(f"<w:r><w:t>{text[j : j + 16]}</w:t></w:r>" for j in range(i, i + 960, 16))
        + "</w:p>"
        for i in range(0, 8000 * 960, 960)
    )
    xml = (
        f'<?xml version="1.0"?><w:document xmlns:w="{WORDML}"><w:body>{body}</w:body></w:document>'
    )
    path = tmp_path / "big.docx"
    docx.Document().save(str(path))
    with zipfile.ZipFile(path) as small:
        parts = {name: small.read(name) for name in small.namelist()}
    parts["word/document.xml"] = xml.encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as big:
        for name, data in parts.items():
            big.writestr(name, data)
    script = (
        "import resource, sys, time; sys.path.insert(0, sys.argv[2]);"
        "from retrieval.ingest.docx_text import docx_lines;"
        "data = open(sys.argv[1], 'rb').read();"
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss;"
        "lines = docx_lines(data);"
        "grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before;"
        "print(len(lines), grown // 1024)"
    )
    root = str(Path(__file__).resolve().parents[1])
    done = subprocess.run(
        [sys.executable, "-c", script, str(path), root], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    paragraphs, grown_mb = map(int, done.stdout.split())
    assert paragraphs == 8000
    assert grown_mb < 100
