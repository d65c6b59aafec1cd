"""Inline buttons and their callback data, which lives in SQLite, not in memory.

`m:<log id>:<offset>` pages a logged question; `f:<speech id>:<n>` opens a paragraph in
full, `w:<speech id>:<n>` walks to another in the same message. All survive a restart and
fit Telegram's 64 bytes. Each kind is routed to its handler by the pattern below
(app.register).
"""

from __future__ import annotations

import re

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot import messages as m
from bot.service import Page, SpeechText
from retrieval import Outline, SpeechRow

MORE = "m"
FULL = "f"
WALK = "w"
CITE = "c"
VOTE = "v"
OUTLINE = "o"
MORE_PATTERN = re.compile(rf"^{MORE}:(\d{{1,12}}):(\d{{1,6}})$")
FULL_PATTERN = re.compile(rf"^{FULL}:([0-9a-f]{{1,32}}):(\d{{1,6}})$")
WALK_PATTERN = re.compile(rf"^{WALK}:([0-9a-f]{{1,32}}):(\d{{1,6}})$")
OUTLINE_PATTERN = re.compile(rf"^{OUTLINE}:([0-9a-f]{{1,32}})$")
VOTE_PATTERN = re.compile(rf"^{VOTE}:(\d{{1,12}}):([01])$")
CITE_PATTERN = re.compile(rf"^{CITE}:([0-9a-f]{{1,32}}):(\d{{1,6}})$")


def speeches_keyboard(speeches: tuple[SpeechRow, ...]) -> InlineKeyboardMarkup | None:
    """A button a speech, numbered as listed, opening its outline; four to a row."""
    buttons = [
        InlineKeyboardButton(m.OPEN_OUTLINE.format(n=i), callback_data=f"{OUTLINE}:{s.id}")
        for i, s in enumerate(speeches, 1)
    ]
    rows = [buttons[i : i + 4] for i in range(0, len(buttons), 4)]
    return InlineKeyboardMarkup(rows) if rows else None


def outline_keyboard(outline: Outline) -> InlineKeyboardMarkup | None:
    """A button a top-level section (一、二、…), opening its first paragraph to read on."""
    tops = [s for s in outline.sections if s.level == 1]
    buttons = [
        InlineKeyboardButton(
            m.OPEN_SECTION.format(n=i), callback_data=f"{FULL}:{outline.speech.id}:{s.first}"
        )
        for i, s in enumerate(tops, 1)
    ]
    rows = [buttons[i : i + 4] for i in range(0, len(buttons), 4)]
    return InlineKeyboardMarkup(rows) if rows else None


def reading_keyboard(text: SpeechText) -> InlineKeyboardMarkup:
    """上一段 / 下一段 under a paragraph read in full (they edit the message in place), and
    引用格式 for a reference to paste into a document."""
    numbers = [p.n for p in text.paragraphs]
    at = numbers.index(text.focus)
    row = []
    if at > 0:
        data = f"{WALK}:{text.speech.id}:{numbers[at - 1]}"
        row.append(InlineKeyboardButton(m.PREVIOUS_PARAGRAPH, callback_data=data))
    if at < len(numbers) - 1:
        data = f"{WALK}:{text.speech.id}:{numbers[at + 1]}"
        row.append(InlineKeyboardButton(m.NEXT_PARAGRAPH, callback_data=data))
    cite = f"{CITE}:{text.speech.id}:{text.focus}"
    return InlineKeyboardMarkup([row, [InlineKeyboardButton(m.CITE, callback_data=cite)]])


def answer_keyboard(page: Page) -> InlineKeyboardMarkup | None:
    answer = page.answer
    if not answer.answered or not answer.hits:
        return None
    rows = []
    full = [
        InlineKeyboardButton(
            f"{m.FULL_TEXT} {hit.rank}" if len(answer.hits) > 1 else m.FULL_TEXT,
            callback_data=f"{FULL}:{hit.speech_id}:{hit.paragraph}",
        )
        for hit in answer.hits
    ]
    rows.append(full)
    rows.append(
        [
            InlineKeyboardButton(
                f"{m.CITE_SHORT} {hit.rank}" if len(answer.hits) > 1 else m.CITE,
                callback_data=f"{CITE}:{hit.speech_id}:{hit.paragraph}",
            )
            for hit in answer.hits
        ]
    )
    paging = []
    if page.offset > 0:
        back = max(page.offset - page.size, 0)
        paging.append(
            InlineKeyboardButton(m.PREVIOUS_PAGE, callback_data=f"{MORE}:{page.log_id}:{back}")
        )
    if page.more and page.log_id:
        data = f"{MORE}:{page.log_id}:{page.offset + len(answer.hits)}"
        label = m.NEXT_PAGE if page.offset > 0 else m.MORE_RESULTS
        paging.append(InlineKeyboardButton(label, callback_data=data))
    if paging:
        rows.append(paging)
    if page.log_id:
        rows.append(
            [
                InlineKeyboardButton(m.USEFUL, callback_data=f"{VOTE}:{page.log_id}:1"),
                InlineKeyboardButton(m.USELESS, callback_data=f"{VOTE}:{page.log_id}:0"),
            ]
        )
    return InlineKeyboardMarkup(rows)
