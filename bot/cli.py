"""`speechbot` command line: each command is a thin call into retrieval (or the bot)."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import asdict, fields
from pathlib import Path

from bot.config import Config, ConfigError, load_config
from bot.render import html
from bot.render import text as render
from retrieval import (
    Answer,
    DamagedStore,
    DiskFull,
    Hit,
    Library,
    SourceError,
    evaluate,
    format_report,
    load_queries,
)

log = logging.getLogger("speechbot")
HIT_FIELDS = tuple(f.name for f in fields(Hit))


class UsageError(Exception):
    """A mistake in what the user asked for: one line on stderr, exit code 1."""


def _library(config: Config) -> Library:
    return Library.open(config.corpus_dir, config.store_path)


def _progress(done: int, total: int, name: str) -> None:
    if total >= 20 and (done % 10 == 0 or done == total):
        print(f"\r索引中 {done}/{total} {name[:40]:<40}", end="", file=sys.stderr, flush=True)
        if done == total:
            print(file=sys.stderr)


def cmd_index(config: Config, args: argparse.Namespace) -> int:
    library = Library(config.corpus_dir, config.store_path)
    report = library.reload(progress=_progress)
    damage = library.damage_report()
    if args.json:
        _print_json(asdict(report) | {"damage": asdict(damage)})
    else:
        print(render.index_report_text(report))
        print(render.damage_text(damage))
    return 0


def cmd_ask(config: Config, args: argparse.Namespace) -> int:
    question = " ".join(args.question).strip()
    if not question:
        raise UsageError("empty question")
    answer = _library(config).search(question, k=args.k or config.top_k)
    # The answer exactly as the bot and `chat` show it, as plain text.
    print("\n\n".join(html.to_plain(t) for t in html.pack(html.answer_blocks(answer))))
    return 0


def answer_json(answer: Answer) -> dict:
    """What `search --json` prints for an answer (the bench times the same)."""
    return {
        "query": answer.query,
        "confidence": answer.confidence,
        "answered": answer.answered,
        "corrections": [list(c) for c in answer.corrections],
        "scope": list(answer.scope),
        "took_ms": round(answer.took_ms, 3),
        "phrase": answer.phrase,
        "phrase_count": answer.phrase_count,
        # Hits are flat: a field by field copy, where asdict would deep-copy each value.
        "hits": [{f: getattr(h, f) for f in HIT_FIELDS} for h in answer.hits],
    }


def cmd_search(config: Config, args: argparse.Namespace) -> int:
    library = _library(config)
    k = args.k or config.top_k
    if args.query:
        queries = [" ".join(args.query)]
    else:
        queries = [q for q in (line.strip() for line in _stdin_lines()) if q]
    if not queries or not all(q.strip() for q in queries):
        raise UsageError("empty query")
    for query in queries:
        answer = library.search(query, k=k)
        if args.json:
            _print_json(answer_json(answer), compact=True)
        else:
            print(render.answer_line(answer))
    return 0


def _stdin_lines() -> list[str]:
    """One query a line; bytes that are not UTF-8 become U+FFFD with a warning, so one bad
    line does not end the batch."""
    binary = getattr(sys.stdin, "buffer", None)
    if binary is None:  # already text (a test's StringIO)
        return sys.stdin.read().splitlines()
    data = binary.read()
    text = data.decode("utf-8", errors="replace")
    if "\ufffd" in text and "\ufffd".encode() not in data:
        print("speechbot: stdin is not all valid UTF-8; bad bytes replaced", file=sys.stderr)
    return text.splitlines()


def cmd_speeches(config: Config, args: argparse.Namespace) -> int:
    speeches = _library(config).speeches()
    if args.json:
        _print_json(
            [
                {
                    "id": s.id,
                    "title": s.title,
                    "event": s.event,
                    "place": s.place,
                    "date": s.date,
                    "speaker": s.speaker,
                    "paragraphs": s.paragraphs,
                    "source": s.source,
                }
                for s in speeches
            ]
        )
    else:
        print(render.speeches_text(speeches))
    return 0


def cmd_show(config: Config, args: argparse.Namespace) -> int:
    library = _library(config)
    speech = library.speech(args.speech_id)
    if speech is None:
        raise UsageError(f"unknown speech id: {args.speech_id}")
    paragraphs = library.paragraphs(speech.id)
    if args.json:
        _print_json(
            {
                "id": speech.id,
                "title": speech.title,
                "event": speech.event,
                "place": speech.place,
                "date": speech.date,
                "speaker": speech.speaker,
                "source": speech.source,
                "paragraphs": [
                    {"n": p.n, "heading": p.heading, "text": p.text, "damaged": p.damaged}
                    for p in paragraphs
                ],
            }
        )
    else:
        print(render.speech_text(speech, paragraphs))
    return 0


def cmd_eval(config: Config, args: argparse.Namespace) -> int:
    path = Path(args.queries)
    try:
        queries = load_queries(path)
    except (OSError, ValueError) as exc:
        raise UsageError(f"cannot read queries {path}: {exc}") from exc
    result = evaluate(_library(config), queries)
    if args.json:
        _print_json(result)
    else:
        print(format_report(result))
    return 0


def cmd_stats(config: Config, args: argparse.Namespace) -> int:
    from bot.journal import Journal
    from bot.stats import stats_of

    try:
        journal = Journal.beside(config.store_path)
    except DamagedStore as exc:
        raise UsageError(
            f"the journal beside {config.store_path} cannot be read ({exc}); "
            "`speechbot serve` sets it aside and starts a new one"
        ) from exc
    print(render.stats_text(stats_of(journal)))
    return 0


def cmd_backup(config: Config, args: argparse.Namespace) -> int:
    from bot.backup import BackupError, backup

    try:
        made = backup(config.store_path, Path(args.folder))
    except BackupError as exc:
        raise UsageError(str(exc)) from exc
    for path in made:
        print(path)
    return 0


def cmd_serve(config: Config, args: argparse.Namespace) -> int:
    from bot.journal import Journal
    from bot.service import BotService
    from bot.telegram.app import TokenError, check_token, run

    try:
        check_token(config.telegram.token)
    except TokenError as exc:
        print(f"speechbot: {exc}", file=sys.stderr)
        return 2
    logging.getLogger().setLevel(logging.INFO)
    library = _library(config)
    # Map (or, the first time, build) the index before taking updates, not in a handler.
    library.load()
    journal = Journal.opened_or_set_aside(config.store_path)
    run(config, BotService(library, config, journal))
    return 0


def cmd_chat(config: Config, args: argparse.Namespace) -> int:
    from bot import chat
    from bot.service import BotService

    service = BotService(_library(config), config)
    interactive = sys.stdin.isatty()
    if interactive:
        print("输入问题后回车；/help 查看命令，/quit 退出。")

    def prompt() -> None:
        if interactive:
            print(chat.PROMPT, end="", flush=True)

    chat.run(service, sys.stdin, sys.stdout.write, prompt)
    return 0


def _print_json(value: object, compact: bool = False) -> None:
    print(json.dumps(value, ensure_ascii=False, indent=None if compact else 2))


COMMANDS: dict[str, Callable[[Config, argparse.Namespace], int]] = {
    "index": cmd_index,
    "ask": cmd_ask,
    "search": cmd_search,
    "speeches": cmd_speeches,
    "show": cmd_show,
    "eval": cmd_eval,
    "stats": cmd_stats,
    "backup": cmd_backup,
    "serve": cmd_serve,
    "chat": cmd_chat,
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="speechbot", description="Search union congress speeches (CLI and Telegram bot)."
    )
    parser.add_argument(
        "--config", help="TOML config file (default: $SPEECHBOT_CONFIG, ./config.toml)"
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress to stderr")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("index", help="refresh the store from the corpus directory")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("ask", help="answer a question with the top passages")
    p.add_argument("question", nargs="+")
    p.add_argument("-k", type=int, default=0, help="number of passages")

    p = sub.add_parser("search", help="search; with no QUERY reads one query a line from stdin")
    p.add_argument("query", nargs="*")
    p.add_argument("--json", action="store_true")
    p.add_argument("-k", type=int, default=0, help="number of hits")

    p = sub.add_parser("speeches", help="list the speeches")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("show", help="print one cleaned speech")
    p.add_argument("speech_id")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("eval", help="measure answer quality on a JSONL query set")
    p.add_argument("queries")
    p.add_argument("--json", action="store_true")

    sub.add_parser("stats", help="questions asked, unanswered questions, answer times")
    p = sub.add_parser("backup", help="copy the store and the journal into FOLDER, while serving")
    p.add_argument("folder", metavar="FOLDER")
    sub.add_parser("serve", help="run the Telegram bot (long polling, or a webhook if configured)")
    sub.add_parser("chat", help="talk to the bot in the terminal, as plain text")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        config = load_config(args.config)
        if getattr(args, "k", 0) and not 1 <= args.k <= 100:
            raise UsageError("-k must be between 1 and 100")
        return COMMANDS[args.command](config, args)
    except (ConfigError, UsageError, SourceError, DamagedStore, DiskFull) as exc:
        print(f"speechbot: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (`speechbot speeches | head`): stop quietly, as cat would.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


if __name__ == "__main__":
    sys.exit(main())
