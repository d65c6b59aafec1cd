"""Rendering for Telegram and the terminal: escaping, highlighting, splitting, safety."""

import dataclasses
import logging
from pathlib import Path

import pytest

from bot.chat import TerminalChat
from bot.cli import main
from bot.config import Config
from bot.render import html as tr
from bot.service import BotService
from bot.telegram.app import RedactToken
from retrieval.library import Library
from retrieval.model import Answer, Hit
from retrieval.query.search import SearchEngine
from retrieval.query.snippet import best_window, sentences
from tests.fakegram.html import parse_html
from tests.fakegram.server import TOKEN


def _hit(snippet: str, highlights: tuple[tuple[int, int], ...] = ()) -> Hit:
    title, event = "在<测试>市工会上的讲话", "测试 & 大会"
    return Hit(1, 1.0, "abcd1234", title, event, 3, "一、<b>", snippet, snippet, highlights)


def test_corpus_and_user_text_is_escaped() -> None:
    block = tr.hit_block(_hit("职工<script>&“娘家人”", ((7, 10),)))
    text, entities = parse_html(block)
    assert "<script>" in text and "在<测试>市工会上的讲话" in text and "一、<b>" in text
    assert {e["type"] for e in entities} == {"blockquote", "bold", "italic"}


def test_highlights_are_bold_on_real_passages(engine: SearchEngine) -> None:
    hit = engine.search("劳动关系矛盾应该在哪里化解？", k=1).hits[0]
    html = tr.highlighted(hit.snippet, hit.highlights)
    text, entities = parse_html(html)
    assert text == hit.snippet
    bold = {text[e["offset"] : e["offset"] + e["length"]] for e in entities}
    assert bold == {hit.snippet[s:e] for s, e in hit.highlights}


def test_messages_are_split_between_passages_and_fit(engine: SearchEngine) -> None:
    answer = engine.search("工会", k=40)
    blocks = tr.answer_blocks(answer)
    messages = tr.pack(blocks)
    assert len(messages) > 1
    for message in messages:
        assert len(message) <= tr.LIMIT
        parse_html(message)  # whole tags only: splitting never cuts inside one
    assert sum(message.count("<blockquote>") for message in messages) == len(answer.hits)


def test_a_single_huge_block_is_cut_into_valid_pieces() -> None:
    messages = tr.pack(["<b>" + "劳动&" * 3000 + "</b>"])
    assert len(messages) >= 2
    for message in messages:
        assert len(message) <= tr.LIMIT
        parse_html(message)


def test_nothing_found_is_never_empty() -> None:
    blocks = tr.answer_blocks(Answer("x", "none", ()))
    assert tr.pack(blocks) == [tr.esc(tr.m.NOTHING_FOUND)]


def test_each_tier_has_its_own_header(engine: SearchEngine) -> None:
    answer = engine.search("工会工作的立身之本是什么？", k=1)
    assert answer.confidence == "answer"
    assert tr.to_plain(tr.pack(tr.answer_blocks(answer))[0]).startswith(tr.m.ANSWER_HEADER)
    related = dataclasses.replace(answer, confidence="related")
    assert tr.to_plain(tr.pack(tr.answer_blocks(related))[0]).startswith(tr.m.RELATED_HEADER)
    foreign = engine.search("What did the Harbin speech say about model workers?")
    assert foreign.confidence == "none" and foreign.notice == "not_chinese"
    assert tr.to_plain(tr.pack(tr.answer_blocks(foreign))[0]) == tr.m.NOT_CHINESE


def test_plain_twin_reads_like_the_message(engine: SearchEngine) -> None:
    answer = engine.search("四季送", k=1)
    plain = tr.to_plain(tr.pack(tr.answer_blocks(answer))[0])
    assert "<" not in plain.replace("<测", "") and "四季送" in plain


def test_chat_shows_what_the_bot_would_send(library: Library) -> None:
    chat = TerminalChat(BotService(library, Config()))
    reply, buttons = chat.respond("工会工作的立身之本是什么？")
    assert "为职工服务是工会的立身之本" in reply and "<b>" not in reply
    assert "/full 1" in buttons and "/useful" in buttons
    assert chat.respond("/find 识大体，顾大局")[0].startswith("“识大体，顾大局”共出现在 3 个段落中")
    assert "共 8 篇讲话" in chat.respond("/speeches")[0]
    assert chat.respond("/nosuch")[0] == tr.m.UNKNOWN_COMMAND


def test_chat_types_the_buttons(library: Library) -> None:
    chat = TerminalChat(BotService(library, Config()))
    first, buttons = chat.respond("“职工群众”")
    assert "/more" in buttons and "/back" not in buttons
    second, buttons = chat.respond("/more")
    assert "第4–6条" in second and "/back" in buttons
    again, _ = chat.respond("/back")
    assert again == first
    paragraph, buttons = chat.respond("/full 1")
    assert tr.m.FULL_TEXT_HEADER in paragraph and "/next" in buttons
    following, _ = chat.respond("/next")
    assert following != paragraph and tr.m.FULL_TEXT_HEADER in following
    assert chat.respond("/cite")[0].startswith(tr.m.CITATION)
    assert chat.respond("/useless") == [tr.m.THANKS]


@pytest.mark.parametrize(("token", "code"), [("", 2), ("not-a-token", 2)])
def test_serve_refuses_a_missing_or_malformed_token(
    token: str,
    code: int,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SPEECHBOT_CONFIG", raising=False)
    monkeypatch.setenv("SPEECHBOT_TOKEN", token)
    assert main(["serve"]) == code
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "token" in err and "Traceback" not in err


def test_token_never_reaches_the_logs(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("httpx.test")
    logger.addFilter(RedactToken(TOKEN))
    with caplog.at_level(logging.INFO):
        logger.info("HTTP Request: POST http://127.0.0.1/bot%s/getUpdates", TOKEN)
    assert TOKEN not in caplog.text and "<token>" in caplog.text


def test_a_quotation_never_starts_or_ends_inside_quotation_marks() -> None:
    text = "他说：“学习贯彻“4·28”重要讲话。要做到三点。”我们要落实。最后一句！"
    cut = [text[s:e] for s, e in sentences(text)]
    assert cut == ["他说：“学习贯彻“4·28”重要讲话。要做到三点。”", "我们要落实。", "最后一句！"]


def test_garbled_text_is_marked_not_quoted(engine: SearchEngine) -> None:
    answer = engine.search("“二次医”", k=1)
    [message] = tr.pack(tr.answer_blocks(answer))
    assert tr.m.DAMAGED in message and "⑿" not in message and "?！" not in message
    assert "驿站" in message  # what is intact around the damage stays


def test_damage_the_corpus_spells_cleanly_elsewhere_is_mended(tmp_path: Path) -> None:
    docs = tmp_path / "corpus"
    docs.mkdir()
    clean = "在甲市工会第一次代表大会上的讲话\n\n全市涌现出一批全国五一劳动奖章获得者和先进集体。\n"
    garbled = (
        "在乙市工会第二次代表大会上的讲话\n\n全区涌现全国五一劳动奖芦@得者、2个全国工人先锋号。\n"
    )
    (docs / "a.txt").write_text(clean, encoding="utf-8")
    (docs / "b.txt").write_text(garbled, encoding="utf-8")
    library = Library.open(docs, tmp_path / "s.db")
    report = library.damage_report()
    assert [(garbled, text) for _, _, garbled, text in report.mended] == [("芦@得", "章获得")]
    answer = library.search("“工人先锋号”", k=1)
    [message] = tr.pack(tr.answer_blocks(answer))
    assert "劳动奖章获得者" in message and "@" not in message and tr.m.DAMAGED not in message


def test_a_long_sentence_is_not_cut_inside_quotation_marks() -> None:
    text = "要" + "努力工作" * 40 + "，做到“" + "又好又快" * 20 + "”。"
    start, end = best_window(text, {"努力": 1.0})
    quoted = text[start:end]
    assert quoted.count("“") == quoted.count("”") and len(quoted) <= 200
