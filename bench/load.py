"""A load run: many users write to the bot at once; every message must be answered once.

    python bench/load.py --messages 2000 --users 200

The real PTB Application (as `speechbot serve` builds it) polls the loopback Bot API of
the tests (tests/fakegram), which takes the users' messages as fast as they come. The
run reports how long the last answer took to arrive, answers per second, and any message
answered twice, not at all or with the error notice.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot import messages as m
from bot.config import BUNDLED_CORPUS, Config, TelegramSettings
from bot.service import BotService
from bot.telegram.app import build_application
from retrieval.library import Library
from tests.fakegram.server import TOKEN, BotAPIServer

ROOT = Path(__file__).resolve().parents[1]


def questions() -> list[str]:
    found = []
    for path in sorted((ROOT / "tests" / "data").glob("staff-*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                found.append(json.loads(line)["query"])
    return found


async def run(messages: int, users: int, timeout: float) -> dict:
    store = Path(tempfile.mkdtemp()) / "speechbot.db"
    library = Library.open(BUNDLED_CORPUS, store)
    pool = questions()
    rng = random.Random(7)
    with BotAPIServer() as server:
        settings = TelegramSettings(
            token=TOKEN, base_url=server.base_url, base_file_url=server.base_file_url, salt="s"
        )
        config = Config(corpus_dir=BUNDLED_CORPUS, store_path=store, telegram=settings)
        application = build_application(config, BotService(library, config))
        await application.initialize()
        await application.start()
        await application.updater.start_polling(poll_interval=0.0, timeout=1)
        try:
            people = [server.user(10_000 + i) for i in range(users)]
            chats = [server.private_chat(u) for u in people]
            sent: Counter[int] = Counter()
            started = time.perf_counter()
            for i in range(messages):
                who = i % users
                server.send_text(chats[who], people[who], rng.choice(pool))
                sent[chats[who]["id"]] += 1
            deadline = started + timeout
            while time.perf_counter() < deadline:
                got = {c: len(server.messages(c)) for c in sent}
                if all(got[c] >= n for c, n in sent.items()):
                    break
                await asyncio.sleep(0.05)
            elapsed = time.perf_counter() - started
            await asyncio.sleep(1.0)  # anything sent twice arrives by now
        finally:
            await application.updater.stop()
            await application.stop()
            await application.shutdown()
        replies = {c: server.messages(c) for c in sent}
    answered = sum(min(len(replies[c]), n) for c, n in sent.items())
    return {
        "messages": messages,
        "users": users,
        "answered": answered,
        "unanswered": messages - answered,
        "extra_replies": sum(max(len(replies[c]) - n, 0) for c, n in sent.items()),
        "error_notices": sum(x["text"] == m.ERROR for r in replies.values() for x in r),
        "seconds": round(elapsed, 2),
        "answers_per_second": round(answered / elapsed, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--timeout", type=float, default=300)
    args = parser.parse_args()
    result = asyncio.run(run(args.messages, args.users, args.timeout))
    print(json.dumps(result, ensure_ascii=False))
    ok = not (result["unanswered"] or result["extra_replies"] or result["error_notices"])
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
