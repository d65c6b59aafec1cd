"""Answers and corpus listings as plain text for the terminal."""

from __future__ import annotations

from bot import messages as m
from bot.stats import Stats
from retrieval import (
    NOT_CHINESE,
    RELATED,
    Answer,
    DamageReport,
    Hit,
    IndexReport,
    ParagraphRow,
    SpeechRow,
)


def source_line(hit: Hit) -> str:
    """Speech title · congress · section heading · paragraph number (parts that exist)."""
    parts = [hit.speech_title]
    if hit.event and hit.event not in hit.speech_title:
        parts.append(hit.event)
    if hit.heading:
        parts.append(hit.heading)
    parts.append(m.PARAGRAPH.format(n=hit.paragraph))
    return m.SOURCE_SEP.join(parts)


def phrase_line(answer: Answer) -> str:
    if not answer.phrase:
        return ""
    if answer.phrase_count:
        return m.PHRASE_COUNT.format(phrase=answer.phrase, count=answer.phrase_count)
    return m.PHRASE_NOT_FOUND.format(phrase=answer.phrase)


def misquoted(answer: Answer) -> bool:
    """Quoted words not found as written, answered with the passages closest to them."""
    return bool(answer.phrase) and not answer.phrase_count and bool(answer.hits)


def notes(answer: Answer) -> list[str]:
    """What was searched instead of what was typed (typos)."""
    return [m.CORRECTED.format(typed=t, meant=s) for t, s in answer.corrections]


def header(answer: Answer) -> str:
    """The first line of an answer, by its tier."""
    if answer.confidence == RELATED:
        return (
            m.MISQUOTE_HEADER.format(phrase=answer.phrase)
            if misquoted(answer)
            else m.RELATED_HEADER
        )
    return phrase_line(answer) or m.ANSWER_HEADER


def nothing_found(answer: Answer) -> list[str]:
    """Why there is no passage, and what to do next."""
    if answer.notice == NOT_CHINESE:
        return [m.NOT_CHINESE]
    lines = [phrase_line(answer)] if answer.phrase else []
    lines.append(m.NOTHING_FOUND)
    if answer.closest:
        lines.append(m.CLOSEST_SPEECH.format(title=answer.closest_title, id=answer.closest))
    return lines


def answer_line(answer: Answer) -> str:
    """One line per query, for batch runs read by people and by grep."""
    if not answer.answered:
        return f"{answer.query}\t-\t{m.NOTHING_FOUND}"
    top = answer.hits[0]
    return f"{answer.query}\t{top.speech_id}#{top.paragraph}\t{top.snippet}"


def speeches_text(speeches: list[SpeechRow]) -> str:
    if not speeches:
        return m.NO_SPEECHES
    lines = [m.SPEECHES_HEADER.format(count=len(speeches))]
    for s in speeches:
        lines.append(m.SPEECH_LINE.format(id=s.id, title=s.title, paragraphs=s.paragraphs))
    return "\n".join(lines)


def speech_text(speech: SpeechRow, paragraphs: list[ParagraphRow]) -> str:
    lines = [speech.title]
    if speech.event:
        lines.append(m.SPEECH_EVENT.format(event=speech.event))
    lines.append(m.SPEECH_SOURCE.format(source=speech.source))
    heading = ""
    for p in paragraphs:
        if p.heading and p.heading != heading and not p.text.startswith(p.heading):
            lines += ["", p.heading]
        heading = p.heading
        lines += ["", f"[{p.n}] {p.text}"]
    return "\n".join(lines)


def index_report_text(report: IndexReport) -> str:
    lines = [
        m.INDEX_REPORT.format(
            files=report.files,
            added=len(report.added),
            changed=len(report.changed),
            removed=len(report.removed),
            unchanged=report.unchanged,
            speeches=report.speeches,
            paragraphs=report.paragraphs,
            damaged=report.damaged,
            seconds=report.seconds,
        )
    ]
    if report.warnings:
        lines.append(m.WARNINGS)
        lines += [f"- {w}" for w in report.warnings]
    return "\n".join(lines)


def damage_text(report: DamageReport) -> str:
    """What cleaning found garbled: mended from the rest of the corpus, or still marked."""
    lines = [m.DAMAGE_SUMMARY.format(mended=len(report.mended), marked=len(report.marked))]
    lines += [
        m.DAMAGE_MENDED.format(id=sid, n=n, garbled=garbled, text=text)
        for sid, n, garbled, text in report.mended
    ]
    return "\n".join(lines)


def stats_text(stats: Stats) -> str:
    lines = [
        m.STATS.format(
            today=stats.today,
            week=stats.week,
            askers=stats.askers,
            share=stats.nothing_found_share,
            median=stats.median_ms,
        )
    ]
    if stats.unlogged:
        lines.append(m.STATS_UNLOGGED.format(n=stats.unlogged))
    if stats.votes:
        lines.append(m.STATS_VOTES.format(votes=stats.votes, share=stats.useless_share))
    tables = (
        (m.STATS_TOP, stats.top),
        (m.STATS_UNANSWERED, stats.unanswered),
        (m.STATS_USELESS, stats.useless),
    )
    for title, rows in tables:
        if rows:
            lines += ["", title]
            lines += [
                m.STATS_LINE.format(n=i, query=q[:60], count=c) for i, (q, c) in enumerate(rows, 1)
            ]
    return "\n".join(lines)


def reload_text(report: IndexReport) -> str:
    files = m.RELOAD_FILES.format(
        added="、".join(report.added) or m.NONE,
        changed="、".join(report.changed) or m.NONE,
        removed="、".join(report.removed) or m.NONE,
    )
    return "\n".join([m.RELOAD_DONE, files, index_report_text(report)])
