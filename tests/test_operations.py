"""Running it for months: a proxy, the systemd unit, backups, damaged journals, odd input."""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from bot import messages
from bot.config import Config, ConfigError, TelegramSettings, parse_config
from bot.journal import Journal
from retrieval.library import Library
from tests.conftest import RunningBot
from tests.fakegram.proxy import ForwardingProxy

ROOT = Path(__file__).resolve().parents[1]
UNIT = ROOT / "deploy" / "speechbot.service"


async def test_the_bot_reaches_telegram_through_the_configured_proxy(
    library: Library, running_bot: RunningBot
) -> None:
    with ForwardingProxy() as proxy:
        config = Config(telegram=TelegramSettings(salt="s", proxy=proxy.url))
        async with running_bot(library, config) as server:
            user = server.user(7001)
            chat = server.private_chat(user)
            server.send_text(chat, user, "四季送")
            reply = await server.wait_for_message(chat["id"])
    assert "四季送" in reply["text"]
    assert any(p.endswith("/getUpdates") for p in proxy.paths)
    assert any(p.endswith("/sendMessage") for p in proxy.paths)


@pytest.mark.parametrize("url", ["ftp://proxy:21", "127.0.0.1:1080"])
def test_a_proxy_without_a_known_scheme_is_a_config_error(url: str) -> None:
    with pytest.raises(ConfigError, match=r"telegram\.proxy"):
        parse_config({"telegram": {"proxy": url}}, base=Path("."))
    socks = parse_config({"telegram": {"proxy": "socks5://127.0.0.1:1080"}}, base=Path("."))
    assert socks.telegram.proxy == "socks5://127.0.0.1:1080"


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze")
def test_the_systemd_unit_verifies_and_is_sandboxed(tmp_path: Path) -> None:
    unit = UNIT.read_text(encoding="utf-8")
    settings = dict(
        line.split("=", 1) for line in unit.splitlines() if "=" in line and line[0] != "#"
    )
    assert settings["User"] == "speechbot" and settings["ProtectSystem"] == "strict"
    assert settings["ReadWritePaths"] == "/var/lib/speechbot"
    assert settings["Restart"] == "on-failure" and settings["NoNewPrivileges"] == "yes"
    # verify checks that ExecStart exists: point it at the speechbot installed here.
    installed = Path(sys.executable).with_name("speechbot")
    copy = tmp_path / "speechbot.service"
    copy.write_text(
        unit.replace("ExecStart=/opt/speechbot/bin/speechbot", f"ExecStart={installed}"),
        encoding="utf-8",
    )
    done = subprocess.run(
        ["systemd-analyze", "verify", str(copy)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert "speechbot.service" not in done.stderr, done.stderr


def _speechbot(*args: str, config: Path, stdin: bytes = b"") -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", "--config", str(config), *args],
        input=stdin,
        capture_output=True,
        timeout=120,
        cwd=ROOT,
    )


@pytest.fixture(scope="module")
def indexed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A config whose store holds the bundled corpus, indexed by the command line."""
    folder = tmp_path_factory.mktemp("ops")
    config = folder / "config.toml"
    store = folder / "speechbot.db"
    config.write_text(
        f'[corpus]\ndir = "{ROOT / "data" / "corpus"}"\n[store]\npath = "{store}"\n',
        encoding="utf-8",
    )
    assert _speechbot("index", config=config).returncode == 0
    journal = Journal.beside(store)
    journal.log_query(
        chat_type="private",
        user_hash="h",
        query="四季送",
        answered=True,
        top_speech="",
        top_paragraph=0,
        latency_ms=1.0,
    )
    return config


def test_backup_copies_the_store_and_the_journal_while_they_are_open(
    indexed: Path, tmp_path: Path
) -> None:
    store = indexed.with_name("speechbot.db")
    holder = sqlite3.connect(store)  # the bot has it open
    done = _speechbot("backup", str(tmp_path / "bk"), config=indexed)
    holder.close()
    assert done.returncode == 0, done.stderr
    copy = tmp_path / "bk" / "speechbot.db"
    with sqlite3.connect(copy) as db:
        (speeches,) = db.execute("select count(*) from speeches").fetchone()
    assert speeches == 8
    logged = Journal(tmp_path / "bk" / "speechbot.journal.db").query_log(0)
    assert [e["query"] for e in logged] == ["四季送"]
    assert not list((tmp_path / "bk").glob("*.part"))


def test_search_reads_stdin_that_is_not_all_utf8(indexed: Path) -> None:
    lines = "四季送\n".encode() + b"\xff\xfe\n" + "职工书屋\n".encode()
    done = _speechbot("search", config=indexed, stdin=lines)
    assert done.returncode == 0, done.stderr
    assert len(done.stdout.decode().splitlines()) == 3
    assert b"not all valid UTF-8" in done.stderr


def test_a_damaged_journal_is_a_clear_error_and_serving_sets_it_aside(
    indexed: Path, tmp_path: Path
) -> None:
    store = tmp_path / "speechbot.db"
    shutil.copy(indexed.with_name("speechbot.db"), store)
    Journal.path_beside(store).write_bytes(b"not a database at all" * 100)
    config = tmp_path / "config.toml"
    original = indexed.read_text(encoding="utf-8")
    config.write_text(original.replace(str(indexed.with_name("speechbot.db")), str(store)))
    stats = _speechbot("stats", config=config)
    assert stats.returncode == 1 and b"Traceback" not in stats.stderr
    assert b"journal" in stats.stderr
    assert _speechbot("show", "b7a2db95", config=config).returncode == 0
    fresh = Journal.opened_or_set_aside(store)
    assert fresh.query_log(0) == []
    assert Journal.path_beside(store).with_name("speechbot.journal.db.damaged").exists()


async def test_many_users_at_once_are_each_answered_exactly_once(
    library: Library, running_bot: RunningBot
) -> None:
    """bench/load.py runs 2,000 messages from 200 users; this is its small, quick twin."""
    questions = ["四季送", "职工书屋", "劳模精神", "工会怎么帮扶困难职工", "“职工群众”"]
    async with running_bot(library, Config(telegram=TelegramSettings(salt="s"))) as server:
        chats = []
        for i in range(40):
            user = server.user(20_000 + i)
            chat = server.private_chat(user)
            chats.append(chat)
            for question in questions:
                server.send_text(chat, user, question)
        await server.wait_until(
            lambda: all(len(server.messages(c["id"])) >= len(questions) for c in chats),
            timeout=60,
            what="every answer",
        )
        await asyncio.sleep(0.5)  # an answer sent twice would arrive by now
        replies = [server.messages(c["id"]) for c in chats]
    assert all(len(r) == len(questions) for r in replies)
    assert all(sent["text"] != messages.ERROR for r in replies for sent in r)


def test_indexing_leaves_no_write_ahead_log_behind(indexed: Path) -> None:
    wal = indexed.with_name("speechbot.db-wal")
    assert not wal.exists() or wal.stat().st_size == 0
