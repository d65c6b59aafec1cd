"""Admin features end to end through the loopback Bot API server: nothing is ever lost."""

from __future__ import annotations

import itertools
import shutil
import sqlite3
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING

import docx
import pytest
import pytest_asyncio

from bot import messages as m
from bot.config import BUNDLED_CORPUS, Config, TelegramSettings
from retrieval.ingest import sync as corpus
from retrieval.library import Library
from retrieval.store import Store
from tests.fakegram.server import BotAPIServer

if TYPE_CHECKING:
    from tests.conftest import RunningBot

pytestmark = pytest.mark.asyncio(loop_scope="module")
ADMIN_ID = 42
ids = itertools.count(7001)
SPEECH = "在测试市工会第一次代表大会上的讲话\n\n各位代表：\n\n{body}\n"


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def bot(
    tmp_path_factory: pytest.TempPathFactory, running_bot: RunningBot
) -> AsyncIterator[BotAPIServer]:
    base = tmp_path_factory.mktemp("admin")
    docs = base / "corpus"
    shutil.copytree(BUNDLED_CORPUS, docs)
    library = Library.open(docs, base / "s.db")
    settings = TelegramSettings(admins=(ADMIN_ID,), max_upload_bytes=60_000)
    config = Config(corpus_dir=docs, store_path=base / "s.db", telegram=settings)
    async with running_bot(library, config) as server:
        server.docs = docs
        yield server


def _admin(server: BotAPIServer) -> tuple[dict, dict]:
    user = server.user(ADMIN_ID, "管理员")
    return user, server.private_chat(user)


async def _last_reply(server: BotAPIServer, chat: dict, after: int, contains: str = "") -> dict:
    return await server.wait_for_message(
        chat["id"], lambda s: s["message_id"] > after and contains in s["text"], timeout=20
    )


def _latest_id(server: BotAPIServer, chat: dict) -> int:
    sent = server.messages(chat["id"])
    return sent[-1]["message_id"] if sent else 0


async def _command(server: BotAPIServer, text: str, contains: str) -> dict:
    user, chat = _admin(server)
    after = _latest_id(server, chat)
    server.send_text(chat, user, text)
    return await _last_reply(server, chat, after, contains)


async def _upload(
    server: BotAPIServer,
    name: str,
    data: bytes,
    caption: str | None = None,
    user_id: int = ADMIN_ID,
) -> dict:
    user = server.user(user_id)
    chat = server.private_chat(user)
    after = _latest_id(server, chat)
    server.send_document(chat, user, name, data, caption=caption)
    return await _last_reply(server, chat, after)


@pytest.mark.parametrize("command", ["/reload", "/remove abc", "/stats"])
async def test_non_admins_are_refused_and_logged(bot: BotAPIServer, command: str) -> None:
    user = bot.user(next(ids))
    chat = bot.private_chat(user)
    bot.send_text(chat, user, command)
    reply = await bot.wait_for_message(chat["id"])
    assert reply["text"] == m.NOT_ADMIN
    assert bot.journal.audit_log()[-1]["outcome"] == "refused: not an admin"


async def test_non_admin_upload_is_refused_and_leaves_no_trace(bot: BotAPIServer) -> None:
    reply = await _upload(
        bot, "x.txt", SPEECH.format(body="非法上传。").encode(), user_id=next(ids)
    )
    assert reply["text"] == m.NOT_ADMIN
    assert not (bot.docs / "x.txt").exists()


async def test_reload_reports_added_changed_and_removed_files(bot: BotAPIServer) -> None:
    (bot.docs / "new.txt").write_text(SPEECH.format(body="职工书屋建设要加强。"), encoding="utf-8")
    reply = await _command(bot, "/reload", m.RELOAD_DONE)
    assert "新增：new.txt" in reply["text"] and "讲话 9 篇" in reply["text"]
    (bot.docs / "new.txt").write_text(SPEECH.format(body="职工书屋要普及。"), encoding="utf-8")
    reply = await _command(bot, "/reload", m.RELOAD_DONE)
    assert "更新：new.txt" in reply["text"]
    (bot.docs / "new.txt").unlink()
    reply = await _command(bot, "/reload", m.RELOAD_DONE)
    assert "删除：new.txt" in reply["text"] and "讲话 8 篇" in reply["text"]


async def test_upload_utf8_gb18030_and_docx(bot: BotAPIServer) -> None:
    reply = await _upload(bot, "书屋.txt", SPEECH.format(body="职工书屋建设要加强。").encode())
    assert (
        "已收录文件 书屋.txt" in reply["text"]
        and "在测试市工会第一次代表大会上的讲话" in reply["text"]
    )
    assert bot.library.engine.search("职工书屋").answered

    gbk = "在甲市工会第二次代表大会上的讲话\n\n要深入开展女职工素质提升行动。\n".encode("gb18030")
    reply = await _upload(bot, "gbk.txt", gbk)
    assert "已收录文件 gbk.txt" in reply["text"]
    assert bot.library.engine.search("女职工素质提升行动").answered

    document = docx.Document()
    document.add_heading("在乙市工会第三次代表大会上的讲话", level=1)
    document.add_paragraph("要大力推进产业工人队伍建设改革。")
    path = bot.docs.parent / "speech.docx"
    document.save(path)
    reply = await _upload(bot, "speech.docx", path.read_bytes())
    assert "已收录文件 speech.docx" in reply["text"]
    assert bot.library.engine.search("产业工人队伍建设改革").answered


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("big.txt", "工会".encode() * 20000, "文件太大"),
        ("bad.docx", b"PK\x03\x04 not really a zip", "不是有效的 .docx 文件"),
        ("empty.txt", b"", "文件是空的"),
        ("notes.pdf", b"%PDF-1.4", "不支持这种文件"),
    ],
)
async def test_rejected_uploads_leave_no_trace(
    bot: BotAPIServer, name: str, data: bytes, reason: str
) -> None:
    before = bot.library.store.counts()
    reply = await _upload(bot, name, data)
    assert reason in reply["text"]
    assert not (bot.docs / name).exists()
    assert not list(bot.docs.glob(".upload-*"))
    assert bot.library.store.counts() == before


async def test_same_name_gets_a_new_name_unless_replace(bot: BotAPIServer) -> None:
    await _upload(bot, "dup.txt", SPEECH.format(body="第一版内容。").encode())
    reply = await _upload(bot, "dup.txt", SPEECH.format(body="第二版内容。").encode())
    assert "dup_2.txt" in reply["text"] and m.REPLACE_HINT in reply["text"]
    reply = await _upload(bot, "dup.txt", SPEECH.format(body="第三版内容。").encode(), "/replace")
    assert "已收录文件 dup.txt" in reply["text"]
    assert "第三版" in (bot.docs / "dup.txt").read_text(encoding="utf-8")


async def test_remove_moves_the_file_to_the_trash(bot: BotAPIServer) -> None:
    await _upload(bot, "gone.txt", SPEECH.format(body="临时讲话内容要删除。").encode())
    speech = next(s for s in bot.library.store.speeches() if s.source == "gone.txt")
    reply = await _command(bot, f"/remove {speech.id}", "回收站")
    assert "gone.txt" in reply["text"]
    assert not (bot.docs / "gone.txt").exists()
    assert list((bot.docs / ".trash").glob("*_gone.txt"))
    assert bot.library.store.speech(speech.id) is None
    reply = await _command(bot, "/remove nosuch", "没有找到")
    assert "nosuch" in reply["text"]


async def test_questions_are_answered_during_a_slow_reload(
    bot: BotAPIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = corpus.parse_file

    def slow(path: Path, root: Path):
        time.sleep(1.5)
        return original(path, root)

    monkeypatch.setattr(corpus, "parse_file", slow)
    (bot.docs / "slow.txt").write_text(SPEECH.format(body="慢慢加载的讲话。"), encoding="utf-8")
    user, chat = _admin(bot)
    after = _latest_id(bot, chat)
    bot.send_text(chat, user, "/reload")
    await _last_reply(bot, chat, after, m.RELOAD_STARTED)
    asker = bot.user(next(ids))
    bot.send_text(bot.private_chat(asker), asker, "四季送")
    answer = await bot.wait_for_message(asker["id"], timeout=5)
    done = [
        s
        for s in bot.messages(chat["id"])
        if m.RELOAD_DONE in s["text"] and s["message_id"] > after
    ]
    assert "四季送" in answer["text"] and not done
    await _last_reply(bot, chat, after, m.RELOAD_DONE)
    (bot.docs / "slow.txt").unlink()
    monkeypatch.undo()
    await _command(bot, "/reload", m.RELOAD_DONE)


async def test_a_reload_that_fails_half_way_keeps_the_old_corpus(
    bot: BotAPIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_: object) -> None:
        raise RuntimeError("disk full")

    (bot.docs / "half.txt").write_text(SPEECH.format(body="半途而废的讲话。"), encoding="utf-8")
    monkeypatch.setattr(bot.library, "_build", broken)
    reply = await _command(bot, "/reload", "重新加载失败")
    assert "disk full" in reply["text"]
    assert not any(s.source == "half.txt" for s in bot.library.store.speeches())
    assert bot.library.engine.search("四季送").answered
    (bot.docs / "half.txt").unlink()


async def test_stats_command_replies_with_figures(bot: BotAPIServer) -> None:
    reply = await _command(bot, "/stats", "今日提问")
    assert "近 7 天提问" in reply["text"]


async def test_stats_count_the_questions_a_full_disk_kept_out_of_the_log(
    bot: BotAPIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full(*args: object, **kwargs: object) -> None:
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(bot.journal, "_insert_query", full)
    monkeypatch.setattr(bot.journal, "log_admin_action", full)
    asker = bot.user(next(ids), "职工")
    chat = bot.private_chat(asker)
    bot.send_text(chat, asker, "四季送")
    answer = await bot.wait_for_message(chat["id"])
    assert "四季送" in answer["text"]
    reply = await _command(bot, "/stats", "今日提问")
    assert m.STATS_UNLOGGED.format(n=bot.journal.unlogged) in reply["text"]
    assert bot.journal.unlogged >= 1


async def test_a_useless_answer_shows_in_the_stats(bot: BotAPIServer) -> None:
    asker = bot.user(next(ids), "职工")
    chat = bot.private_chat(asker)
    bot.send_text(chat, asker, "工会怎么关心职工的孩子上学")
    answer = await bot.wait_for_message(chat["id"], lambda s: "reply_markup" in s)
    rows = answer["reply_markup"]["inline_keyboard"]
    useless = next(b["callback_data"] for row in rows for b in row if b["text"] == m.USELESS)
    bot.press_button(answer, useless, asker)
    await bot.wait_for_call("answerCallbackQuery", lambda c: c.get("text") == m.THANKS)
    reply = await _command(bot, "/stats", m.STATS_USELESS)
    assert "工会怎么关心职工的孩子上学" in reply["text"].split(m.STATS_USELESS)[1]
    assert "“没用”占" in reply["text"]


async def test_every_admin_action_is_audited(bot: BotAPIServer) -> None:
    before = len(bot.journal.audit_log())
    await _upload(bot, "audited.txt", SPEECH.format(body="留下审计记录的讲话。").encode())
    speech = next(s for s in bot.library.store.speeches() if s.source == "audited.txt")
    await _command(bot, f"/remove {speech.id}", "回收站")
    await _command(bot, "/reload", m.RELOAD_DONE)
    await _command(bot, "/stats", "今日提问")
    # An action is audited before it is answered, so the replies above mean the rows exist.
    actions = {row["action"] for row in bot.journal.audit_log()[before:]}
    assert {"reload", "upload", "remove", "stats"} <= actions
    assert all(row["user_hash"] and str(ADMIN_ID) != row["user_hash"]
               for row in bot.journal.audit_log())  # fmt: skip


async def test_admin_commands_in_a_group_point_to_private_chat(bot: BotAPIServer) -> None:
    user, _ = _admin(bot)
    group = bot.group_chat(-100901)
    asked = bot.send_text(group, user, "/stats@speech_test_bot")
    assert asked is not None
    reply = await bot.wait_for_message(
        group["id"], lambda s: s.get("reply_to_message_id") == asked["message_id"]
    )
    assert reply["text"] == m.ADMIN_PRIVATE_ONLY


async def test_an_admins_upload_in_a_group_points_to_private_chat(bot: BotAPIServer) -> None:
    user, _ = _admin(bot)
    group = bot.group_chat(-100902)
    # Under privacy mode the bot sees a file only when its caption addresses it.
    sent = bot.send_document(
        group, user, "g.txt", SPEECH.format(body="群里上传。").encode(), caption="/replace"
    )
    assert sent is not None
    reply = await bot.wait_for_message(
        group["id"], lambda s: s.get("reply_to_message_id") == sent["message_id"]
    )
    assert reply["text"] == m.ADMIN_PRIVATE_ONLY
    assert not (bot.docs / "g.txt").exists()


async def test_an_upload_that_fails_unexpectedly_names_no_server_path(
    bot: BotAPIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_: object, **__: object) -> None:
        raise OSError(36, "File name too long", str(bot.docs / ("长" * 100 + ".txt")))

    monkeypatch.setattr(bot.library, "add_file", broken)
    reply = await _upload(bot, "长" * 100 + ".txt", SPEECH.format(body="很长的名字。").encode())
    assert reply["text"] == m.UPLOAD_FAILED
    assert str(bot.docs) not in reply["text"]
    assert bot.journal.audit_log()[-1]["outcome"].startswith("failed: OSError")


async def test_a_full_disk_stops_reload_and_upload_with_a_clear_message(
    bot: BotAPIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full(*args: object, **kwargs: object) -> None:
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(Store, "replace_source", full)
    before = {s.id for s in bot.library.speeches()}
    (bot.docs / "full.txt").write_text(SPEECH.format(body="磁盘满了。"), encoding="utf-8")
    reply = await _command(bot, "/reload", m.DISK_FULL)
    assert reply["text"] == m.DISK_FULL
    reply = await _upload(bot, "up.txt", SPEECH.format(body="上传时磁盘满了。").encode())
    assert reply["text"] == m.DISK_FULL
    assert not (bot.docs / "up.txt").exists()
    assert {s.id for s in bot.library.speeches()} == before
    assert bot.library.engine.search("四季送").answered
    (bot.docs / "full.txt").unlink()


async def test_a_reload_without_the_corpus_folder_says_so_in_chinese(bot: BotAPIServer) -> None:
    away = bot.docs.with_name(bot.docs.name + "-away")
    bot.docs.rename(away)
    try:
        reply = await _command(bot, "/reload", "重新加载失败")
    finally:
        away.rename(bot.docs)
    assert m.SOURCE_REASONS["corpus directory not found"] in reply["text"]
    assert str(bot.docs) not in reply["text"]
    assert bot.library.engine.search("四季送").answered
