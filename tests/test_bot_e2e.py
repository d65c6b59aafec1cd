"""The real PTB Application, polling the loopback Bot API server, driven by real update JSON."""

from __future__ import annotations

import itertools
import sqlite3
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING

import pytest
import pytest_asyncio

from bot import messages as m
from bot.config import Config, TelegramSettings
from retrieval.library import Library
from tests.fakegram.server import BotAPIServer

if TYPE_CHECKING:
    from tests.conftest import RunningBot

pytestmark = pytest.mark.asyncio(loop_scope="module")
ids = itertools.count(5001)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def botapi(library: Library, running_bot: RunningBot) -> AsyncIterator[BotAPIServer]:
    async with running_bot(library, Config(telegram=TelegramSettings(salt="s"))) as server:
        yield server


def _user(server: BotAPIServer) -> dict:
    return server.user(next(ids), "职工")


def _reply_to(message: dict) -> Callable[[dict], bool]:
    return lambda sent: sent.get("reply_to_message_id") == message["message_id"]


async def _ask_private(server: BotAPIServer, text: str) -> tuple[dict, dict]:
    user = _user(server)
    chat = server.private_chat(user)
    server.send_text(chat, user, text)
    return user, await server.wait_for_message(chat["id"])


async def test_commands_are_published_in_chinese_for_private_chats_and_groups(
    botapi: BotAPIServer,
) -> None:
    scopes = {"all_private_chats", "all_group_chats"}
    await botapi.wait_until(lambda: scopes <= set(botapi.commands), what="both command menus")
    assert scopes <= set(botapi.commands)
    assert any(c["command"] == "ask" and c["description"] == "提问"
               for c in botapi.commands["all_group_chats"])  # fmt: skip


async def test_private_question_gets_quoted_passages_with_sources_and_buttons(
    botapi: BotAPIServer,
) -> None:
    _, reply = await _ask_private(botapi, "工会工作的立身之本是什么？")
    assert "为职工服务是工会的立身之本" in reply["text"]
    assert "在清远市清新区工会第六次代表大会上的讲话" in reply["text"]
    assert "第6段" in reply["text"]
    kinds = {e["type"] for e in reply["entities"]}
    assert {"blockquote", "bold"} <= kinds
    assert reply["html"].count("<blockquote>") == 3
    buttons = [b for row in reply["reply_markup"]["inline_keyboard"] for b in row]
    labels = [b["text"] for b in buttons]
    assert f"{m.FULL_TEXT} 1" in labels and {m.USEFUL, m.USELESS} <= set(labels)
    # One paragraph answers it; the others shown cover too little to page on to more.
    assert m.MORE_RESULTS not in labels
    logged = botapi.journal.query_log(0)[-1]
    assert logged["query"] == "工会工作的立身之本是什么？" and logged["answered"] == 1
    assert logged["chat_type"] == "private" and logged["latency_ms"] > 0
    assert str(reply["chat"]["id"]) not in logged["user_hash"]


async def test_nothing_found_is_said_plainly(botapi: BotAPIServer) -> None:
    _, reply = await _ask_private(botapi, "广州市工会第十二次代表大会讲话")
    assert reply["text"].startswith(m.NOTHING_FOUND)
    # A next step: the nearest speech, by its id.
    assert "/speech " in reply["text"]
    assert "reply_markup" not in reply


async def test_more_results_edits_the_message_in_place(botapi: BotAPIServer) -> None:
    user, reply = await _ask_private(botapi, "“职工群众”")
    more = next(
        b["callback_data"]
        for row in reply["reply_markup"]["inline_keyboard"]
        for b in row
        if b["text"] == m.MORE_RESULTS
    )
    first_text = reply["text"]
    botapi.press_button(reply, more, user)
    edited = await botapi.wait_for_message(reply["chat"]["id"], lambda s: s.get("edited"))
    assert edited["message_id"] == reply["message_id"]
    assert edited["text"] != first_text and "4. " in edited["text"]


def _buttons(message: dict) -> dict[str, str]:
    """Label → callback data of the buttons under a message."""
    rows = (message.get("reply_markup") or {}).get("inline_keyboard", [])
    return {b["text"]: b["callback_data"] for row in rows for b in row}


async def test_full_text_walks_the_speech_in_one_message(botapi: BotAPIServer) -> None:
    user, reply = await _ask_private(botapi, "工会工作的立身之本是什么？")
    chat = reply["chat"]["id"]
    botapi.press_button(reply, _buttons(reply)[f"{m.FULL_TEXT} 1"], user)
    shown = await botapi.wait_for_message(chat, lambda s: m.FULL_TEXT_HEADER in s["text"])
    assert "为职工服务是工会的立身之本" in shown["text"] and "第6段 / 共9段" in shown["text"]
    # Only the paragraph's place is bold, not the whole paragraph.
    stored = botapi.stored(chat, shown["message_id"])
    assert "<b>为职工服务" not in stored.get("html", stored["text"])
    sent = len(botapi.messages(chat))
    for n in range(7, 10):
        stored = await botapi.press_and_wait_edit(stored, _buttons(stored)[m.NEXT_PARAGRAPH], user)
        assert f"第{n}段 / 共9段" in stored["text"]
    assert list(_buttons(stored)) == [m.PREVIOUS_PARAGRAPH, m.CITE]  # nothing after the last
    for n in range(8, 0, -1):
        data = _buttons(stored)[m.PREVIOUS_PARAGRAPH]
        stored = await botapi.press_and_wait_edit(stored, data, user)
        assert f"第{n}段 / 共9段" in stored["text"]
    assert list(_buttons(stored)) == [m.NEXT_PARAGRAPH, m.CITE]  # nothing before the first
    assert len(botapi.messages(chat)) == sent  # edited in place, never multiplied


async def test_a_citation_is_ready_to_paste(botapi: BotAPIServer) -> None:
    user, reply = await _ask_private(botapi, "滨州讲话说衡量工会工作好不好最根本看什么")
    chat = reply["chat"]["id"]
    botapi.press_button(reply, _buttons(reply)[f"{m.FULL_TEXT} 1"], user)
    shown = await botapi.wait_for_message(chat, lambda s: m.FULL_TEXT_HEADER in s["text"])
    botapi.press_button(shown, _buttons(shown)[m.CITE], user)
    cited = await botapi.wait_for_message(chat, lambda s: s["text"].startswith(m.CITATION))
    assert "《在滨州市工会第五次代表大会上的讲话》第三部分，第7段" in cited["text"]
    # Straight from the answer too.
    botapi.press_button(reply, _buttons(reply)[f"{m.CITE_SHORT} 1"], user)
    again = await botapi.wait_for_message(
        chat, lambda s: s["message_id"] > cited["message_id"] and m.CITATION in s["text"]
    )
    assert again["text"] == cited["text"]


async def test_paging_counts_and_goes_back(botapi: BotAPIServer) -> None:
    user, reply = await _ask_private(botapi, "“职工群众”")
    second = await botapi.press_and_wait_edit(reply, _buttons(reply)[m.MORE_RESULTS], user)
    assert "4. " in second["text"] and "第4–6条 / 共" in second["text"]
    assert int(second["text"].split("共")[-1].split("条")[0]) > 6
    assert {m.PREVIOUS_PAGE, m.NEXT_PAGE} <= set(_buttons(second))
    first = await botapi.press_and_wait_edit(second, _buttons(second)[m.PREVIOUS_PAGE], user)
    assert "1. " in first["text"] and "4. " not in first["text"]
    assert m.MORE_RESULTS in _buttons(first)


async def test_results_stop_where_relevance_stops(botapi: BotAPIServer) -> None:
    # 劳模精神 is held by a few paragraphs; those holding only 精神 do not follow them.
    user, page = await _ask_private(botapi, "劳模精神")
    quoted = []
    while True:
        quoted += [line for line in page["text"].splitlines() if line[:1].isdigit()]
        nexts = [d for label, d in _buttons(page).items() if label in (m.MORE_RESULTS, m.NEXT_PAGE)]
        if not nexts:
            break
        page = await botapi.press_and_wait_edit(page, nexts[0], user)
    assert quoted and len(quoted) < 10
    assert all("劳模" in line or "劳动模范" in line for line in quoted)


@pytest.mark.parametrize("data", ["m:99999999:3", "f:deadbeef:1", "garbage", "m:x:1"])
async def test_expired_or_unknown_button_gets_a_polite_answer(
    botapi: BotAPIServer, data: str
) -> None:
    user, reply = await _ask_private(botapi, "四季送")
    query_id = botapi.press_button(reply, data, user)
    await botapi.wait_until(lambda: query_id in botapi.callback_answers, what="the answer")
    assert botapi.callback_answers[query_id]["text"] == m.EXPIRED


async def test_group_ask_command_with_and_without_botname(botapi: BotAPIServer) -> None:
    group = botapi.group_chat(-100501)
    for text in (
        "/ask 劳动关系矛盾应该在哪里化解？",
        "/ask@speech_test_bot 劳动关系矛盾应该在哪里化解？",
    ):
        asked = botapi.send_text(group, _user(botapi), text)
        assert asked is not None
        reply = await botapi.wait_for_message(group["id"], _reply_to(asked))
        assert "把劳动关系矛盾化解在基层" in reply["text"]
        # Compact in groups: only the best passage.
        assert reply["html"].count("<blockquote>") == 1


async def test_group_ignores_what_is_not_for_the_bot(botapi: BotAPIServer) -> None:
    group = botapi.group_chat(-100502)
    assert botapi.send_text(group, _user(botapi), "大家好，今天开会") is None
    assert botapi.send_text(group, _user(botapi), "/ask@other_bot 工会") is None
    # Something the bot does see, answered, shows it has had its chance to reply to the rest.
    asked = botapi.send_text(group, _user(botapi), "/ask 四季送")
    assert asked is not None
    await botapi.wait_for_message(group["id"], _reply_to(asked))
    assert [s for s in botapi.messages(group["id"]) if not _reply_to(asked)(s)] == []


async def test_group_mention_and_reply_follow_up(botapi: BotAPIServer) -> None:
    group = botapi.group_chat(-100503)
    asked = botapi.send_text(group, _user(botapi), "@speech_test_bot 宜宾素有什么美誉？")
    answer = await botapi.wait_for_message(group["id"], _reply_to(asked))
    assert "万里长江第一城" in answer["text"]
    stored = next(
        s for s in botapi.messages(group["id"]) if s["message_id"] == answer["message_id"]
    )
    follow = botapi.send_text(
        group, _user(botapi), "哈尔滨的工人运动有怎样的历史？", reply_to=stored
    )
    assert follow is not None
    second = await botapi.wait_for_message(group["id"], _reply_to(follow))
    assert "光荣的工人运动历史" in second["text"]


async def test_group_find_counts_places_then_shows_where(botapi: BotAPIServer) -> None:
    group = botapi.group_chat(-100504)
    asked = botapi.send_text(group, _user(botapi), "/find 识大体，顾大局")
    reply = await botapi.wait_for_message(group["id"], _reply_to(asked))
    assert reply["text"].startswith("“识大体，顾大局”共出现在 3 个段落中。")
    labels = [b["text"] for row in reply["reply_markup"]["inline_keyboard"] for b in row]
    assert m.MORE_RESULTS in labels


async def test_inline_mode_offers_quotable_passages(botapi: BotAPIServer) -> None:
    query_id = botapi.inline_query(_user(botapi), "劳动竞赛")
    params = await botapi.wait_for_call(
        "answerInlineQuery", lambda p: str(p["inline_query_id"]) == query_id
    )
    results = params["results"]
    assert 1 <= len(results) <= 10
    first = results[0]
    assert first["type"] == "article" and "讲话" in first["title"]
    assert "<blockquote>" in first["input_message_content"]["message_text"]
    # Only relevant passages, never padded to ten: 劳模精神 offers those about 劳模.
    query_id = botapi.inline_query(_user(botapi), "劳模精神")
    params = await botapi.wait_for_call(
        "answerInlineQuery", lambda p: str(p["inline_query_id"]) == query_id
    )
    offered = [r["input_message_content"]["message_text"] for r in params["results"]]
    assert 1 <= len(offered) < 10 and all("劳模" in text for text in offered)


async def test_flood_control_is_honoured_and_the_message_still_goes_out(
    botapi: BotAPIServer,
) -> None:
    botapi.flood("sendMessage", retry_after=1)
    _, reply = await _ask_private(botapi, "四季送")
    assert "四季送" in reply["text"]
    assert any("Too Many Requests" in e for _, e in botapi.errors)


async def test_network_errors_while_polling_do_not_stop_the_bot(botapi: BotAPIServer) -> None:
    botapi.fail("getUpdates", times=2)
    # Asked only once both polls failed: else the poll under way would take the question.
    await botapi.wait_until(lambda: botapi.faults_left("getUpdates") == 0, what="both failures")
    _, reply = await _ask_private(botapi, "珠三角")
    assert "珠三角" in reply["text"]


@pytest.mark.parametrize(
    "text",
    ["😀😀", "<b>工会</b> & <script>alert(1)</script>", "工会" * 2500, "   .  ", "&amp; <i>"],
)
async def test_odd_text_gets_a_sensible_answer(botapi: BotAPIServer, text: str) -> None:
    before = len(botapi.errors)
    _, reply = await _ask_private(botapi, text)
    assert reply["text"]
    assert botapi.errors[before:] == []


async def test_stickers_and_photos_in_private_get_a_hint(botapi: BotAPIServer) -> None:
    user = _user(botapi)
    chat = botapi.private_chat(user)
    botapi.send_sticker(chat, user)
    reply = await botapi.wait_for_message(chat["id"])
    assert reply["text"] == m.TEXT_ONLY
    botapi.send_photo(chat, user)
    await botapi.wait_for_message(chat["id"], lambda s: s["message_id"] != reply["message_id"])


async def test_help_speeches_and_speech_outline(botapi: BotAPIServer, library: Library) -> None:
    _, reply = await _ask_private(botapi, "/help")
    assert "/find" in reply["text"] and "@speech_test_bot" in reply["text"]
    _, reply = await _ask_private(botapi, "/speeches")
    assert "共 8 篇讲话" in reply["text"]
    speech = library.store.speeches()[0]
    _, reply = await _ask_private(botapi, f"/speech {speech.id}")
    assert speech.title in reply["text"] and "提纲" in reply["text"]
    assert f"共 {speech.paragraphs} 段" in reply["text"]
    _, reply = await _ask_private(botapi, "/speech nosuch")
    assert reply["text"] == m.UNKNOWN_SPEECH.format(id="nosuch")


async def test_a_failing_update_is_reported_and_the_bot_goes_on(
    botapi: BotAPIServer, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("index exploded")

    service = botapi.application.bot_data.service
    monkeypatch.setattr(service, "ask", broken)
    _, reply = await _ask_private(botapi, "工会私密提问内容")
    assert reply["text"] == m.ERROR
    # The log says which update failed and why, not who asked what.
    failure = [r for r in caplog.records if "failed" in r.getMessage()]
    assert failure and all("私密提问" not in r.getMessage() for r in caplog.records)
    monkeypatch.undo()
    _, reply = await _ask_private(botapi, "四季送")
    assert "四季送" in reply["text"]


async def test_the_three_tiers_are_told_apart(botapi: BotAPIServer) -> None:
    _, confident = await _ask_private(botapi, "工会工作的立身之本是什么？")
    assert confident["text"].startswith(m.ANSWER_HEADER)
    _, related = await _ask_private(botapi, "职工生病了工会能帮什么")
    assert related["text"].startswith(m.RELATED_HEADER) and "——" in related["text"]
    assert "reply_markup" in related
    _, nothing = await _ask_private(botapi, "广州市工会第十二次代表大会讲话")
    assert nothing["text"].startswith(m.NOTHING_FOUND) and "——" not in nothing["text"]
    _, foreign = await _ask_private(botapi, "What did the speech say about model workers?")
    assert foreign["text"] == m.NOT_CHINESE


async def test_a_typo_is_corrected_and_said(botapi: BotAPIServer) -> None:
    _, reply = await _ask_private(botapi, "公会怎么帮扶困难只工")
    assert m.CORRECTED.format(typed="公会", meant="工会") in reply["text"]
    assert m.CORRECTED.format(typed="只工", meant="职工") in reply["text"]
    assert "——" in reply["text"]


async def test_a_named_congress_keeps_the_answer_in_that_speech(botapi: BotAPIServer) -> None:
    _, reply = await _ask_private(botapi, "哈尔滨那次大会讲话里关于劳模精神是怎么说的")
    sources = [line for line in reply["text"].splitlines() if line.startswith("——")]
    assert sources and all("哈尔滨市工会第十七次代表大会" in s for s in sources)
    _, outline = await _ask_private(botapi, "南昌市工会十三大讲了哪几点意见")
    assert "南昌市工会第十三次代表大会" in outline["text"] and m.SPEECH_OUTLINE in outline["text"]


async def test_asking_for_more_pages_on_in_the_same_chat(botapi: BotAPIServer) -> None:
    user = _user(botapi)
    chat = botapi.private_chat(user)
    botapi.send_text(chat, user, "“职工群众”")
    first = await botapi.wait_for_message(chat["id"])
    assert "1. " in first["text"] and "4. " not in first["text"]
    botapi.send_text(chat, user, "还有吗")
    more = await botapi.wait_for_message(chat["id"], lambda s: "4. " in s.get("text", ""))
    assert "1. " not in more["text"]
    botapi.send_text(chat, user, "再来几条")
    await botapi.wait_for_message(chat["id"], lambda s: "7. " in s.get("text", ""))
    # A chat with no question before gets a hint, not passages.
    _, hint = await _ask_private(botapi, "还有吗")
    assert hint["text"] == m.NO_EARLIER_QUESTION


async def test_a_reply_in_a_group_follows_up_the_answered_question(botapi: BotAPIServer) -> None:
    group = botapi.group_chat(-100505)
    asked = botapi.send_text(group, _user(botapi), "@speech_test_bot 娘家人")
    answer = await botapi.wait_for_message(group["id"], _reply_to(asked))
    stored = next(
        s for s in botapi.messages(group["id"]) if s["message_id"] == answer["message_id"]
    )
    follow = botapi.send_text(group, _user(botapi), "那哈尔滨讲话里是怎么说的？", reply_to=stored)
    assert follow is not None
    second = await botapi.wait_for_message(group["id"], _reply_to(follow))
    assert "哈尔滨市工会第十七次代表大会" in second["text"] and "娘家人" in second["text"]
    more = botapi.send_text(group, _user(botapi), "还有吗", reply_to=stored)
    assert more is not None
    third = await botapi.wait_for_message(group["id"], _reply_to(more))
    assert "2. " in third["text"] and "娘家人" in third["text"]


async def test_a_speech_is_found_by_its_place_and_shown_as_a_tree(botapi: BotAPIServer) -> None:
    _, tree = await _ask_private(botapi, "/speech 南昌十三大")
    lines = tree["text"].splitlines()
    assert lines[0] == "在南昌市工会第十三次代表大会上的讲话"
    top = next(line for line in lines if line.startswith("一、"))
    assert top.endswith("（第6–10段）")
    assert any(line.startswith("　一是") and line.endswith("（第7段）") for line in lines)
    # A speech without numbered headings: the first sentence of each paragraph.
    _, gist = await _ask_private(botapi, "/speech 哈尔滨")
    assert m.SPEECH_GIST in gist["text"] and "第13段　最后，预祝大会圆满成功！" in gist["text"]
    _, unknown = await _ask_private(botapi, "/speech 上海")
    assert unknown["text"] == m.UNKNOWN_SPEECH.format(id="上海")


async def test_reading_from_a_group_goes_on_in_private(botapi: BotAPIServer) -> None:
    group = botapi.group_chat(-100506)
    user = _user(botapi)
    asked = botapi.send_text(group, user, "@speech_test_bot 工会工作的立身之本是什么？")
    answer = await botapi.wait_for_message(group["id"], _reply_to(asked))
    in_group = len(botapi.messages(group["id"]))
    botapi.press_button(answer, _buttons(answer)[m.FULL_TEXT], user)
    call = await botapi.wait_for_call(
        "answerCallbackQuery", lambda c: "start=read_" in (c.get("url") or "")
    )
    link = call["url"].split("start=")[1]
    assert call["url"].startswith("https://t.me/speech_test_bot?start=read_")
    assert len(botapi.messages(group["id"])) == in_group  # nothing posted in the group
    # The deep link opens the private chat with /start and its parameter.
    chat = botapi.private_chat(user)
    botapi.send_text(chat, user, f"/start {link}")
    shown = await botapi.wait_for_message(chat["id"], lambda s: m.FULL_TEXT_HEADER in s["text"])
    assert "为职工服务是工会的立身之本" in shown["text"]
    assert {m.PREVIOUS_PARAGRAPH, m.NEXT_PARAGRAPH, m.CITE} <= set(_buttons(shown))


async def test_the_speeches_can_be_browsed(botapi: BotAPIServer) -> None:
    user, listing = await _ask_private(botapi, "/speeches")
    assert "共 8 篇讲话" in listing["text"]
    assert "地点：南昌市 · 日期：未注明 · 讲话人：未注明 · 22段" in listing["text"]
    assert "地点：未注明" in listing["text"]  # 市教科文卫体工会: no place in the text
    buttons = _buttons(listing)
    assert len(buttons) == 8
    botapi.press_button(listing, buttons[m.OPEN_OUTLINE.format(n=3)], user)
    title = "在南昌市工会第十三次代表大会上的讲话"
    outline = await botapi.wait_for_message(
        listing["chat"]["id"], lambda s: s["text"].startswith(title)
    )
    assert m.SPEECH_OUTLINE in outline["text"]


async def test_a_damaged_paragraph_is_shown_marked(botapi: BotAPIServer) -> None:
    _, reply = await _ask_private(botapi, "“驿站”")
    assert f"二次医{m.DAMAGED}驿站" in reply["text"]
    assert "⑿" not in reply["text"] and "?！" not in reply["text"]


async def test_an_outline_opens_its_sections(botapi: BotAPIServer) -> None:
    user, outline = await _ask_private(botapi, "/speech 靖江")
    sections = _buttons(outline)
    assert list(sections) == [m.OPEN_SECTION.format(n=i) for i in (1, 2, 3)]
    botapi.press_button(outline, sections[m.OPEN_SECTION.format(n=2)], user)
    shown = await botapi.wait_for_message(
        outline["chat"]["id"], lambda s: m.FULL_TEXT_HEADER in s["text"] and "第6段" in s["text"]
    )
    assert "二、各级工会组织要当好" in shown["text"]


async def test_every_group_reply_is_one_message(botapi: BotAPIServer) -> None:
    group = botapi.group_chat(-100507)
    for text in (
        "/speeches",
        "/speech 南昌十三大",
        "/ask 工会怎么帮扶困难职工",
        "/find 工会",
        "@speech_test_bot 南昌市工会十三大讲了哪几点意见",
    ):
        asked = botapi.send_text(group, _user(botapi), text)
        assert asked is not None
        await botapi.wait_for_message(group["id"], _reply_to(asked))
        replies = [s for s in botapi.messages(group["id"]) if _reply_to(asked)(s)]
        assert len(replies) == 1 and len(replies[0]["text"]) <= 4096, text


async def test_bold_guides_the_eye_and_unknown_commands_point_to_help(
    botapi: BotAPIServer,
) -> None:
    _, reply = await _ask_private(botapi, "工会工作的立身之本是什么？")
    bold = [
        reply["text"][e["offset"] : e["offset"] + e["length"]]
        for e in reply["entities"]
        if e["type"] == "bold"
    ]
    assert "立身之本" in bold and "工会" not in bold and "工作" not in bold
    _, unknown = await _ask_private(botapi, "/nosuchcommand")
    assert unknown["text"] == m.UNKNOWN_COMMAND


async def test_a_full_disk_does_not_take_the_answer_with_it(
    botapi: BotAPIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full(*args: object, **kwargs: object) -> None:
        raise sqlite3.OperationalError("database or disk is full")

    for name in ("_insert_query", "remember_shown", "remember_answer"):
        monkeypatch.setattr(botapi.journal, name, full)
    unlogged = botapi.journal.unlogged
    _, reply = await _ask_private(botapi, "“职工群众”")
    assert "1. " in reply["text"]
    assert botapi.journal.unlogged == unlogged + 1
    # Paging and votes need the log entry that could not be written: those buttons go.
    labels = set(_buttons(reply))
    assert f"{m.FULL_TEXT} 1" in labels and m.MORE_RESULTS not in labels
    assert m.USEFUL not in labels


async def test_a_forged_button_shows_nobody_elses_question(botapi: BotAPIServer) -> None:
    # Someone asks a quoted phrase in private …
    _, theirs = await _ask_private(botapi, "“职工群众”")
    their_log = _buttons(theirs)[m.MORE_RESULTS].split(":")[1]
    # … and another user forges a 更多结果 or a vote naming that question under their own answer.
    user, mine = await _ask_private(botapi, "“劳模精神”")
    for forged in (f"m:{their_log}:0", f"v:{their_log}:0"):
        query_id = botapi.press_button(mine, forged, user)
        await botapi.wait_until(lambda q=query_id: q in botapi.callback_answers, what="answer")
        assert botapi.callback_answers[query_id]["text"] == m.EXPIRED
    assert botapi.stored(mine["chat"]["id"], mine["message_id"]).get("edited") is None


@pytest.mark.parametrize("mode", ["close", "502"])
async def test_an_answer_that_fails_on_the_way_is_sent_again(
    botapi: BotAPIServer, mode: str
) -> None:
    botapi.fail("sendMessage", times=2, mode=mode)
    _, reply = await _ask_private(botapi, "珠三角")
    assert "珠三角" in reply["text"]
    assert botapi.faults_left("sendMessage") == 0
    assert all(sent["text"] != m.ERROR for sent in botapi.messages(reply["chat"]["id"]))
