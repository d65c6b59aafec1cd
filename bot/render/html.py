"""Answers as Telegram HTML: escaped, highlighted, and split to fit 4096 characters.

Pure functions of the service's and retrieval's values, so they are tested without
Telegram, and the terminal `chat` shows exactly these messages through `to_plain`.
"""

from __future__ import annotations

import html
import re

from bot import messages as m
from bot.render.text import header, notes, nothing_found, source_line
from bot.service import NO_EARLIER_QUESTION, Page, SpeechText
from retrieval import Answer, Hit, Outline, ParagraphRow, SpeechRow, damaged_spans

LIMIT = 4096
_TAG = re.compile(r"<[^>]+>")


def esc(text: str) -> str:
    return html.escape(text, quote=False)


def highlighted(
    snippet: str,
    spans: tuple[tuple[int, int], ...],
    damage: tuple[tuple[int, int], ...] = (),
    mended: tuple[tuple[int, int, str], ...] = (),
) -> str:
    """The snippet escaped piece by piece, the matched terms in bold, encoding damage shown
    as such (【原文此处有乱码】) rather than quoted as speech, and damage the corpus mends
    written as mended."""
    replaced = [(s, e, esc(m.DAMAGED)) for s, e in damage]
    replaced += [(s, e, esc(text)) for s, e, text in mended]
    marks = replaced + [
        (s, e, f"<b>{esc(snippet[s:e])}</b>")
        for s, e in spans
        if all(e <= rs or s >= re_ for rs, re_, _ in replaced)
    ]
    out, at = [], 0
    for start, end, shown in sorted(marks):
        if start < at:
            continue
        out += [esc(snippet[at:start]), shown]
        at = end
    out.append(esc(snippet[at:]))
    return "".join(out)


def hit_block(hit: Hit, numbered: bool = True) -> str:
    number = f"{hit.rank}. " if numbered else ""
    quote = highlighted(hit.snippet, hit.highlights, hit.damage, hit.mended)
    return f"<blockquote>{number}{quote}</blockquote>\n<i>—— {esc(source_line(hit))}</i>"


def answer_blocks(answer: Answer) -> list[str]:
    """Header by tier and one block per passage; never empty. Passages that may only be
    related come under a header that says so."""
    lead = [esc("\n".join(notes(answer)))] if answer.corrections else []
    if not answer.answered:
        return [*lead, esc("\n".join(nothing_found(answer)))]
    if not answer.hits:
        return [esc(m.NO_MORE)]
    return [*lead, esc(header(answer)), *(hit_block(h) for h in answer.hits)]


def page_messages(page: Page) -> list[str]:
    """An answer's messages; an outline asked for comes first."""
    if page.notice == NO_EARLIER_QUESTION:
        return [esc(m.NO_EARLIER_QUESTION)]
    blocks = answer_blocks(page.answer)
    footer = page_footer(page)
    if footer:
        blocks.append(esc(footer))
    if page.outline is not None:
        blocks = outline_blocks(page.outline) + blocks
    return pack(blocks)


def page_footer(page: Page) -> str:
    """第4–6条 / 共9条 under a page that is not the whole answer."""
    hits = page.answer.hits
    if not hits or (page.offset == 0 and not page.more):
        return ""
    first, last = hits[0].rank, hits[-1].rank
    where = (
        m.PAGE_ONE.format(n=first) if first == last else m.PAGE_SPAN.format(first=first, last=last)
    )
    total = page.answer.total or page.answer.phrase_count
    return m.PAGE_OF.format(where=where, total=total) if total else where


def full_text_messages(text: SpeechText) -> list[str]:
    return pack(full_text_blocks(text.speech, text.paragraphs, text.focus))


def speeches_messages(speeches: list[SpeechRow]) -> list[str]:
    return pack(speeches_blocks(speeches))


def outline_messages(outline: Outline) -> list[str]:
    return pack(outline_blocks(outline))


def full_text_blocks(speech: SpeechRow, paragraphs: list[ParagraphRow], n: int) -> list[str]:
    """One paragraph of a speech in full: where it stands, the text, how far along."""
    here = next(p for p in paragraphs if p.n == n)
    where = m.SOURCE_SEP.join(part for part in (speech.title, here.heading) if part)
    along = m.READING_AT.format(n=n, count=len(paragraphs))
    body = highlighted(here.text, (), tuple(damaged_spans(here.text)) if here.damaged else ())
    return [f"{esc(m.FULL_TEXT_HEADER)}<b>{esc(where)}</b>", body, esc(along)]


def speeches_blocks(speeches: list[SpeechRow]) -> list[str]:
    if not speeches:
        return [esc(m.NO_SPEECHES)]
    blocks = [esc(m.SPEECHES_HEADER.format(count=len(speeches)))]
    for i, s in enumerate(speeches, 1):
        facts = m.SPEECH_FACTS.format(
            place=s.place or m.NOT_GIVEN,
            date=s.date or m.NOT_GIVEN,
            speaker=s.speaker or m.NOT_GIVEN,
            paragraphs=s.paragraphs,
        )
        blocks.append(f"{i}. <b>{esc(s.title)}</b>\n<code>{esc(s.id)}</code> {esc(facts)}")
    return blocks


def outline_blocks(outline: Outline) -> list[str]:
    """Title, congress, the sections as a tree (一、 → 一是) with their paragraphs; for a
    speech without headings, the first sentence of each paragraph."""
    speech = outline.speech
    lines = [f"<b>{esc(speech.title)}</b>"]
    if speech.event:
        lines.append(esc(m.SPEECH_EVENT.format(event=speech.event)))
    lines.append(esc(m.SPEECH_OUTLINE if outline.sections else m.SPEECH_GIST))
    for s in outline.sections:
        where = section_span(s.first, s.last)
        lines.append(esc(f"{'　' * (s.level - 1)}{s.heading}（{where}）"))
    if not outline.sections:
        for p in outline.paragraphs:
            first = first_sentence(p.text)
            lines.append(esc(f"{m.PARAGRAPH.format(n=p.n)}　{first}"))
    lines.append(esc(m.SPEECH_PARAGRAPHS.format(count=len(outline.paragraphs))))
    return ["\n".join(lines)]


def section_span(first: int, last: int) -> str:
    if first == last:
        return m.PARAGRAPH.format(n=first)
    return m.PARAGRAPHS.format(first=first, last=last)


def first_sentence(text: str, limit: int = 40) -> str:
    """The paragraph's first sentence, cut at `limit` characters."""
    end = min((i for i in (text.find(c) for c in "。！？；") if i >= 0), default=len(text))
    sentence = text[: end + 1]
    return sentence if len(sentence) <= limit else sentence[: limit - 1] + "…"


def pack(blocks: list[str], limit: int = LIMIT) -> list[str]:
    """Join blocks into messages of at most `limit` characters, splitting only between
    blocks; a single block that is too long is cut on a character boundary outside tags."""
    messages: list[str] = []
    current = ""
    for block in blocks:
        for piece in _fit(block, limit):
            joined = f"{current}\n\n{piece}" if current else piece
            if len(joined) <= limit:
                current = joined
            else:
                messages.append(current)
                current = piece
    if current:
        messages.append(current)
    return messages


def _fit(block: str, limit: int) -> list[str]:
    if len(block) <= limit:
        return [block]
    pieces, current = [], ""
    for ch in html.unescape(_TAG.sub("", block)):
        escaped = esc(ch)
        if len(current) + len(escaped) > limit:
            pieces.append(current)
            current = ""
        current += escaped
    return [*pieces, current] if current else pieces


def to_plain(message: str) -> str:
    """What a person reads of an HTML message, for the terminal twin of the bot."""
    text = message.replace("<blockquote>", "「").replace("</blockquote>", "」")
    return html.unescape(_TAG.sub("", text))
