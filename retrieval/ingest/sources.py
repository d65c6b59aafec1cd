"""Readers: a file on disk → the speeches in it, as source text (cleaning comes next)."""

from __future__ import annotations

import io
import re
import zipfile
import zlib
from functools import cache
from pathlib import Path

import docx
import jieba
import opencc
from charset_normalizer import from_bytes
from docx.opc.exceptions import PackageNotFoundError
from lxml import etree  # type: ignore[import-untyped]

from retrieval.model import RawSpeech

SUPPORTED_SUFFIXES = frozenset({".txt", ".md", ".docx"})
LEGACY_ENCODINGS = ("gb18030", "big5")

# The scraped web page's speech headings: "2023工會代表大會領導講話稿【篇3】" (pinyin may follow).
WEB_HEADING = re.compile(r"^.{0,80}【篇\s*\d+\s*】\s*$")
_CJK = re.compile(r"[\u4e00-\u9fff]")
_MD_PREFIX = re.compile(r"^\s{0,3}(?:#{1,6}\s*|>\s*|[-*+]\s+)")
_MD_EMPHASIS = re.compile(r"(\*\*|__|\*|`)(.+?)\1")

# Limits a .docx is held to before python-docx parses it (a parse is all in memory).
# A speech unpacks to well under a megabyte; ten times the largest upload (5 MB) leaves room
# for pictures, and refuses a zip bomb without unpacking it.
DOCX_MAX_UNPACKED = 50 * 2**20
# Word's XML compresses about 10:1; a large member compressed a hundred times tighter is a
# run of filler made to blow up, not a document. Small members may compress further.
DOCX_MAX_RATIO = 100
DOCX_RATIO_FROM = 2**20
# A long report has a few hundred paragraphs; python-docx makes an object of each, so
# millions of empty ones (a few kilobytes zipped) would take minutes and gigabytes.
DOCX_MAX_PARAGRAPHS = 20_000
DOCX_MAIN = "word/document.xml"
# The package's relationship that names the document part (Word on the web names it
# word/document2.xml, and python-docx follows the relationship too).
_RELATIONSHIP = re.compile(rb"<(?:\w+:)?Relationship\s[^>]*>")
_TARGET = re.compile(rb"""\sTarget\s*=\s*["']([^"']+)["']""")
_OFFICE_DOCUMENT = b"/relationships/officeDocument"
_DOCX_CHUNK = 2**18
# A paragraph's start tag under any namespace prefix (w:p, or a drawing's a:p: an upper
# bound is enough); the prefix is bounded so a tag split between chunks is found whole.
_PARAGRAPH = re.compile(rb"<(?:[A-Za-z_][\w.-]{0,20}:)?p[\s/>]")
_TAG_SPAN = 32
# A document type declaration is where entities are declared (billion laughs); Word never
# writes one.
_DECLARATION = re.compile(rb"<!(?:DOCTYPE|ENTITY)")


class SourceError(Exception):
    """A file that cannot be read as speeches; the message says why, in a few words."""


def read_file(path: Path, root: Path) -> list[RawSpeech]:
    """The speeches of one file; raises SourceError naming what is wrong with it."""
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise SourceError(f"unsupported file type {suffix or '(none)'}")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SourceError(f"cannot read file ({exc.strerror or exc})") from exc
    if not data.strip():
        raise SourceError("empty file")
    source = path.relative_to(root).as_posix()
    if suffix == ".docx":
        lines = docx_lines(data)
    else:
        lines = text_lines(decode_bytes(data), markdown=suffix == ".md")
    if not lines:
        raise SourceError("no text found")
    speeches = split_web_page(lines, source) or [single_speech(lines, source)]
    if not any(s.paragraphs for s in speeches):
        raise SourceError("no speech text found (only a title)")
    return speeches


def decode_bytes(data: bytes) -> str:
    """UTF-8 (with or without BOM) first; otherwise the likelier of GB18030 and Big5.

    Strict decoding alone cannot choose: GB18030 decodes Big5 bytes into garbage without
    an error (哈爾濱市工會 comes out as в焊镭カ穦). Both are tried, and the decoding that
    reads most like Chinese text wins; charset-normalizer breaks ties.
    """
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    candidates = {}
    for encoding in LEGACY_ENCODINGS:
        try:
            candidates[encoding] = data.decode(encoding)
        except UnicodeDecodeError:
            continue
    if not candidates:
        raise SourceError("cannot decode text as UTF-8, GB18030 or Big5")
    if len(candidates) == 1:
        return next(iter(candidates.values()))
    scored = {enc: plausibility(text) for enc, text in candidates.items()}
    best = max(scored.values())
    leaders = [enc for enc, score in scored.items() if score == best]
    if len(leaders) == 1:
        return candidates[leaders[0]]
    guess = from_bytes(data, cp_isolation=list(LEGACY_ENCODINGS)).best()
    encoding = guess.encoding if guess and guess.encoding in candidates else "gb18030"
    return candidates[encoding]


def plausibility(text: str) -> float:
    """How much a decoding reads like Chinese: ordinary characters, and dictionary words.

    A wrong legacy decoding is full of kana, Cyrillic, private-use and rare characters, and
    its characters seldom form words; a right one (Simplified or Traditional) does both.
    """
    if not text:
        return 0.0
    ordinary = sum(
        1
        for ch in text
        if ch.isascii()
        or "\u4e00" <= ch <= "\u9fff"
        or "\u3000" <= ch <= "\u303f"
        or "\uff00" <= ch <= "\uffef"
        or ch in "“”‘’…—·"
    )
    return ordinary / len(text) + word_share(text)


def word_share(text: str) -> float:
    """Share of CJK characters that stand in two-or-more-character dictionary words."""
    simplified = _t2s().convert(text)
    cjk = len(_CJK.findall(simplified))
    if not cjk:
        return 0.0
    words = _dictionary()
    covered = i = 0
    while i < len(simplified):
        for size in (4, 3, 2):
            if simplified[i : i + size] in words:
                covered += size
                i += size
                break
        else:
            i += 1
    return covered / cjk


@cache
def _t2s() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


@cache
def _dictionary() -> frozenset[str]:
    """jieba's own word list (no segmentation needed: a greedy look-up is enough here)."""
    with jieba.get_dict_file() as lines:
        words = (line.decode("utf-8").split(" ", 1)[0] for line in lines)
        return frozenset(w for w in words if 2 <= len(w) <= 4)


def text_lines(text: str, markdown: bool = False) -> list[str]:
    lines = []
    for line in text.splitlines():
        line = line.strip()
        if markdown:
            line = _MD_EMPHASIS.sub(r"\2", _MD_PREFIX.sub("", line)).strip()
        if line:
            lines.append(line)
    return lines


def docx_lines(data: bytes) -> list[str]:
    """Non-empty paragraphs in order; the first heading (or line) becomes the title later."""
    check_docx(data)
    try:
        document = docx.Document(io.BytesIO(data))
    except etree.XMLSyntaxError as exc:
        raise SourceError("not a valid .docx file (broken XML)") from exc
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise SourceError("not a valid .docx file") from exc
    paragraphs = [(p.style.name if p.style else "", p.text.strip()) for p in document.paragraphs]
    paragraphs = [(style, text) for style, text in paragraphs if text]
    titled = next(
        (i for i, (style, _) in enumerate(paragraphs) if style.startswith(("Title", "Heading"))),
        0,
    )
    if paragraphs and titled:
        # The title goes first; anything above it (a date, a file note) stays as text.
        paragraphs.insert(0, paragraphs.pop(titled))
    return [text for _, text in paragraphs]


def check_docx(data: bytes) -> None:
    """Refuse a .docx that would be costly to parse: too big unpacked, compressed like a
    bomb, without its document, with too many paragraphs, or declaring XML entities. Only
    the zip's directory is read, then its XML streamed a chunk at a time, never whole."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
            if sum(m.file_size for m in members) > DOCX_MAX_UNPACKED:
                raise SourceError(
                    f"document too large (over {DOCX_MAX_UNPACKED >> 20} MB unpacked)"
                )
            if any(
                m.file_size > DOCX_RATIO_FROM and m.file_size > DOCX_MAX_RATIO * m.compress_size
                for m in members
            ):
                raise SourceError(f"unsafe .docx (compressed over {DOCX_MAX_RATIO}:1)")
            main = _main_part(archive)
            if main not in archive.namelist():
                raise SourceError(f"not a valid .docx file ({main} missing)")
            for member in members:
                if member.filename.endswith((".xml", ".rels")):
                    _scan_xml(archive, member, counting=member.filename == main)
    except (zipfile.BadZipFile, zlib.error, EOFError, RuntimeError, OSError) as exc:
        # A damaged or cut-short member, an encrypted one, or a compression zipfile lacks.
        raise SourceError("not a valid .docx file") from exc


def _main_part(archive: zipfile.ZipFile) -> str:
    if "_rels/.rels" in archive.namelist():
        for tag in _RELATIONSHIP.findall(archive.read("_rels/.rels")):
            target = _TARGET.search(tag)
            if _OFFICE_DOCUMENT in tag and target:
                return target.group(1).decode("utf-8", "replace").lstrip("/")
    return DOCX_MAIN


def _scan_xml(archive: zipfile.ZipFile, member: zipfile.ZipInfo, counting: bool) -> None:
    """Entities declared anywhere refuse the file; paragraphs are counted in the document."""
    paragraphs = 0
    carry = b""
    with archive.open(member) as part:
        while chunk := part.read(_DOCX_CHUNK):
            text = carry + chunk
            # Up to the last tag's start here; that tag waits for the next chunk.
            cut = text.rfind(b"<")
            whole, carry = (text, b"") if cut < 0 else (text[:cut], text[cut : cut + _TAG_SPAN])
            if _DECLARATION.search(whole):
                raise SourceError("unsafe .docx (declares XML entities)")
            paragraphs += len(_PARAGRAPH.findall(whole)) if counting else 0
            if paragraphs > DOCX_MAX_PARAGRAPHS:
                raise SourceError(
                    f"document too large (too many paragraphs, over {DOCX_MAX_PARAGRAPHS})"
                )
    if _DECLARATION.search(carry):
        raise SourceError("unsafe .docx (declares XML entities)")


def split_web_page(lines: list[str], source: str) -> list[RawSpeech]:
    """The web-page format: speeches start at "…【篇N】" lines; what comes before is furniture."""
    starts = [i for i, line in enumerate(lines) if WEB_HEADING.match(line)]
    speeches = []
    for ordinal, start in enumerate(starts, 1):
        end = starts[ordinal] if ordinal < len(starts) else len(lines)
        speeches.append(RawSpeech(lines[start], tuple(lines[start + 1 : end]), source, ordinal))
    return speeches


def single_speech(lines: list[str], source: str) -> RawSpeech:
    return RawSpeech(lines[0], tuple(lines[1:]), source, 1)
