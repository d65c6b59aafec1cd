"""Reading a .docx safely: the package is checked before anything is parsed (unpacked size,
compression, paragraph count, XML entities), then the body's paragraphs are streamed from
its XML. No tree of the document is built: python-docx's tree of a 20 MB document takes
a quarter of a gigabyte and a minute, which a bot serving questions cannot spare."""

from __future__ import annotations

import io
import re
import zipfile
import zlib
from collections.abc import Iterator
from typing import IO

from lxml import etree  # type: ignore[import-untyped]

from retrieval.ingest.errors import SourceError

# A speech unpacks to well under a megabyte; ten times the largest upload (5 MB) leaves room
# for pictures, and refuses a zip bomb without unpacking it.
DOCX_MAX_UNPACKED = 50 * 2**20
# Word's XML compresses about 10:1; a large member compressed a hundred times tighter is a
# run of filler made to blow up, not a document. Small members may compress further.
DOCX_MAX_RATIO = 100
DOCX_RATIO_FROM = 2**20
# A long report has a few hundred paragraphs; millions of empty ones (a few kilobytes
# zipped) are an attack, not a speech.
DOCX_MAX_PARAGRAPHS = 20_000
DOCX_MAIN = "word/document.xml"
# The package's relationship that names the document part (Word on the web names it
# word/document2.xml).
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

_WORDML = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_NS = {"w": _WORDML}
W = f"{{{_WORDML}}}"
# What a run's children stand for in its text, as Word shows it (w:t holds the text).
_RUN_TEXT = {f"{W}tab": "\t", f"{W}ptab": "\t", f"{W}br": "\n", f"{W}cr": "\n"}
_RUN_TEXT |= {f"{W}noBreakHyphen": "-"}


def docx_lines(data: bytes) -> list[str]:
    """Non-empty paragraphs in order; the first heading (or line) becomes the title later."""
    check_docx(data)
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            styles = _style_names(archive)
            paragraphs = [(style, text) for style, text in _paragraphs(archive, styles) if text]
    except etree.XMLSyntaxError as exc:
        raise SourceError("not a valid .docx file (broken XML)") from exc
    except (zipfile.BadZipFile, zlib.error, EOFError, KeyError, OSError) as exc:
        raise SourceError("not a valid .docx file") from exc
    titled = next(
        (i for i, (style, _) in enumerate(paragraphs) if style.startswith(("title", "heading"))),
        0,
    )
    if paragraphs and titled:
        # The title goes first; anything above it (a date, a file note) stays as text.
        paragraphs.insert(0, paragraphs.pop(titled))
    return [text for _, text in paragraphs]


def _stream(part: IO[bytes], tag: str) -> Iterator[etree._Element]:
    """Each `tag` element at its end, with entities and DTDs never loaded."""
    return etree.iterparse(
        part, events=("end",), tag=tag, resolve_entities=False, load_dtd=False, no_network=True
    )


def _paragraphs(archive: zipfile.ZipFile, styles: dict[str, str]) -> Iterator[tuple[str, str]]:
    """The body's paragraphs (a table's or a text box's are not the speech's text), each
    with its style's name in lower case, read one at a time and then dropped."""
    with archive.open(_main_part(archive)) as part:
        for _, paragraph in _stream(part, f"{W}p"):
            parent = paragraph.getparent()
            if parent is None or parent.tag != f"{W}body":
                continue
            style = paragraph.find(f"{W}pPr/{W}pStyle")
            name = styles.get(style.get(f"{W}val", ""), "") if style is not None else ""
            runs = paragraph.xpath("w:r | w:hyperlink/w:r", namespaces=_NS)
            yield name, "".join(_run_text(run) for run in runs).strip()
            # What was read is let go: memory stays that of one paragraph.
            paragraph.clear()
            while paragraph.getprevious() is not None:
                del parent[0]


def _run_text(run: etree._Element) -> str:
    return "".join(
        (child.text or "") if child.tag == f"{W}t" else _RUN_TEXT.get(child.tag, "")
        for child in run
    )


def _style_names(archive: zipfile.ZipFile) -> dict[str, str]:
    """Style id → name in lower case (Heading1 → "heading 1"); none without styles.xml."""
    if "word/styles.xml" not in archive.namelist():
        return {}
    names = {}
    with archive.open("word/styles.xml") as part:
        for _, style in _stream(part, f"{W}style"):
            name = style.find(f"{W}name")
            if name is not None:
                names[style.get(f"{W}styleId", "")] = name.get(f"{W}val", "").lower()
            style.clear()
    return names


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
