"""A Telegram Bot API server on 127.0.0.1 for end-to-end tests of the real PTB Application.

It speaks the HTTP API the way Telegram does where a bot can get it wrong: HTML entity
parsing and its error messages, the 4096-character limit, 64-byte callback data, 429 with
retry_after, getUpdates long polling, privacy mode in groups and getFile downloads. Tests push
real update JSON with the builders (`send_text`, `press_button`, `inline_query`, …) and read
what the bot did from `calls`, `messages(chat_id)` and `errors`.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import re
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar
from urllib.parse import parse_qsl, unquote

from tests.fakegram.html import EntityError, parse_html, utf16_len

TOKEN = "123456789:AAFakeTokenForLoopbackTests_0123456789"
MAX_TEXT = 4096
MAX_CALLBACK_DATA = 64
MAX_INLINE_RESULTS = 50
POLL_SECONDS = 0.02
T = TypeVar("T")


class ApiError(Exception):
    def __init__(self, code: int, description: str, parameters: dict | None = None) -> None:
        super().__init__(description)
        self.code, self.description, self.parameters = code, description, parameters


def _bad(description: str) -> ApiError:
    return ApiError(400, f"Bad Request: {description}")


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        """A client that hung up mid-answer (a long poll at shutdown) is not an error here."""


class BotAPIServer:
    """Start with `with BotAPIServer() as server:`; point PTB at `base_url`/`base_file_url`."""

    def __init__(
        self, token: str = TOKEN, username: str = "speech_test_bot", privacy_mode: bool = True
    ) -> None:
        self.token = token
        self.username = username
        self.privacy_mode = privacy_mode
        self.bot_id = int(token.split(":")[0])
        self.calls: list[tuple[str, dict]] = []
        self.errors: list[tuple[str, str]] = []
        self.inline_answers: dict[str, dict] = {}
        self.callback_answers: dict[str, dict] = {}
        self.commands: dict[str, list[dict]] = {}
        self._updates: list[dict] = []
        self._bot_messages: dict[tuple[int, int], dict] = {}
        self._files: dict[str, tuple[str, bytes]] = {}
        self._flood: dict[str, list[int]] = {}
        self._fail: dict[str, list] = {}
        self._pending_inline: set[str] = set()
        self._ids = itertools.count(1)
        self._message_ids = itertools.count(1000)
        self._cond = threading.Condition()
        self._httpd: ThreadingHTTPServer | None = None

    # lifecycle -----------------------------------------------------------------

    def start(self) -> BotAPIServer:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                server._handle(self)

            def do_POST(self) -> None:
                server._handle(self)

            def log_message(self, *args: object) -> None:
                pass

        self._httpd = _QuietServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._httpd:
            with self._cond:
                self._cond.notify_all()
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> BotAPIServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._httpd, "server not started"
        return self._httpd.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/file/bot"

    # faults a test can arm ---------------------------------------------------------

    def flood(self, method: str, retry_after: int = 1, times: int = 1) -> None:
        """The next `times` calls of `method` get 429 Too Many Requests."""
        self._flood[method] = [retry_after, times]

    def fail(self, method: str, times: int = 1, mode: str = "close") -> None:
        """The next calls of `method` fail: `close` drops the connection, `502` answers so."""
        self._fail[method] = [mode, times]

    # builders of real update JSON ------------------------------------------------------

    @staticmethod
    def user(user_id: int, first_name: str = "测试", username: str | None = None) -> dict:
        user = {
            "id": user_id,
            "is_bot": False,
            "first_name": first_name,
            "language_code": "zh-hans",
        }
        if username:
            user["username"] = username
        return user

    @staticmethod
    def private_chat(user: dict) -> dict:
        return {"id": user["id"], "type": "private", "first_name": user["first_name"]}

    @staticmethod
    def group_chat(chat_id: int = -100123, title: str = "工会工作群") -> dict:
        return {"id": chat_id, "type": "supergroup", "title": title}

    @property
    def bot_user(self) -> dict:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": "讲话助手",
            "username": self.username,
        }

    def send_text(
        self, chat: dict, user: dict, text: str, reply_to: dict | None = None
    ) -> dict | None:
        """A user's text message; in a group with privacy mode, None if the bot would not see it."""
        message = self._message(chat, user, text=text, entities=self._entities(text))
        if reply_to is not None:
            message["reply_to_message"] = reply_to
        if not self._visible(chat, message):
            return None
        return self._push({"message": message})["message"]

    def send_sticker(self, chat: dict, user: dict) -> dict | None:
        sticker = {
            "file_id": "sticker1", "file_unique_id": "s1", "type": "regular", "width": 512,
            "height": 512, "is_animated": False, "is_video": False, "emoji": "👍",
        }  # fmt: skip
        return self._push_if_visible(chat, self._message(chat, user, sticker=sticker))

    def send_photo(self, chat: dict, user: dict) -> dict | None:
        photo = [{"file_id": "photo1", "file_unique_id": "p1", "width": 90, "height": 90}]
        return self._push_if_visible(chat, self._message(chat, user, photo=photo))

    def send_document(
        self,
        chat: dict,
        user: dict,
        file_name: str,
        content: bytes,
        mime_type: str = "application/octet-stream",
        caption: str | None = None,
    ) -> dict | None:
        file_id = f"doc{next(self._ids)}"
        self._files[file_id] = (f"documents/{file_id}_{file_name}", content)
        document = {
            "file_id": file_id, "file_unique_id": f"u{file_id}", "file_name": file_name,
            "mime_type": mime_type, "file_size": len(content),
        }  # fmt: skip
        extra = {"caption": caption, "caption_entities": self._entities(caption)} if caption else {}
        return self._push_if_visible(chat, self._message(chat, user, document=document, **extra))

    def press_button(self, message: dict, data: str, user: dict) -> str:
        """A tap on an inline button under one of the bot's messages; returns the query id."""
        query_id = str(next(self._ids))
        self._push(
            {
                "callback_query": {
                    "id": query_id,
                    "from": user,
                    "message": message,
                    "chat_instance": "ci1",
                    "data": data,
                }
            }
        )
        return query_id

    def inline_query(self, user: dict, query: str, offset: str = "") -> str:
        query_id = str(next(self._ids))
        self._pending_inline.add(query_id)
        self._push(
            {
                "inline_query": {
                    "id": query_id,
                    "from": user,
                    "query": query,
                    "offset": offset,
                    "chat_type": "sender",
                }
            }
        )
        return query_id

    # inspection ---------------------------------------------------------------------

    def messages(self, chat_id: int) -> list[dict]:
        """The bot's messages in a chat, in order, as stored (edits applied)."""
        with self._cond:
            found = [m for (c, _), m in self._bot_messages.items() if c == chat_id]
        return sorted(found, key=lambda m: m["message_id"])

    def calls_of(self, method: str) -> list[dict]:
        return [params for name, params in self.calls if name == method]

    def faults_left(self, method: str) -> int:
        """How many of the failures armed with `fail(method)` are still to come."""
        return self._fail.get(method, ["", 0])[1]

    async def wait_for_call(
        self, method: str, predicate: Callable[[dict], bool] | None = None, timeout: float = 10
    ) -> dict:
        """The first recorded call of `method` (after any already matched) that fits."""
        return await self._poll(
            lambda: next(
                (p for p in self.calls_of(method) if predicate is None or predicate(p)), None
            ),
            timeout,
            f"no {method} call matched",
        )

    async def wait_for_message(
        self, chat_id: int, predicate: Callable[[dict], bool] | None = None, timeout: float = 10
    ) -> dict:
        return await self._poll(
            lambda: next(
                (m for m in self.messages(chat_id) if predicate is None or predicate(m)), None
            ),
            timeout,
            f"no message in chat {chat_id} matched",
        )

    def edits_of(self, chat_id: int, message_id: int) -> list[dict]:
        """The editMessageText calls for one message, in order."""
        return [
            c
            for c in self.calls_of("editMessageText")
            if int(c["chat_id"]) == chat_id and int(c["message_id"]) == message_id
        ]

    async def press_and_wait_edit(
        self, message: dict, data: str, user: dict, timeout: float = 10
    ) -> dict:
        """Press a button under one of the bot's messages and wait for that message's next
        edit; returns the message as stored after it."""
        chat_id, message_id = message["chat"]["id"], message["message_id"]
        before = len(self.edits_of(chat_id, message_id))
        self.press_button(message, data, user)
        await self.wait_until(
            lambda: len(self.edits_of(chat_id, message_id)) > before, timeout, "an edit"
        )
        return self.stored(chat_id, message_id)

    def stored(self, chat_id: int, message_id: int) -> dict:
        """One of the bot's messages as it stands now (edits applied)."""
        return next(s for s in self.messages(chat_id) if s["message_id"] == message_id)

    async def wait_until(
        self, condition: Callable[[], bool], timeout: float = 10, what: str = "condition"
    ) -> None:
        """Until `condition()` holds: the bot works in its own tasks and threads, so a test
        waits for the effect it expects rather than for a guessed time."""
        await self._poll(lambda: True if condition() else None, timeout, f"{what} never held")

    async def _poll(self, find: Callable[[], T | None], timeout: float, what: str) -> T:
        deadline = time.monotonic() + timeout
        while (found := find()) is None:
            if time.monotonic() >= deadline:
                raise AssertionError(self._timeout_report(what))
            await asyncio.sleep(POLL_SECONDS)
        return found

    def _timeout_report(self, what: str) -> str:
        recent = [f"{name}: {str(params)[:200]}" for name, params in self.calls[-8:]]
        return "\n".join([what, "recent calls:", *recent, "errors:", *map(str, self.errors[-5:])])

    # update plumbing ------------------------------------------------------------------

    def _message(self, chat: dict, user: dict, **fields: Any) -> dict:
        message = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": chat,
            "from": user,
        }
        return message | {k: v for k, v in fields.items() if v is not None}

    def _entities(self, text: str | None) -> list[dict]:
        """bot_command and mention entities, as Telegram adds them."""
        if not text:
            return []
        entities = []
        for match in re.finditer(r"(?<![\w/])/[a-zA-Z0-9_]{1,32}(?:@[a-zA-Z0-9_]{3,32})?", text):
            start = utf16_len(text[: match.start()])
            entities.append(
                {"type": "bot_command", "offset": start, "length": utf16_len(match.group())}
            )
        for match in re.finditer(r"(?<!\w)@[a-zA-Z0-9_]{3,32}", text):
            if any(e["offset"] <= utf16_len(text[: match.start()]) < e["offset"] + e["length"]
                   for e in entities):  # fmt: skip
                continue
            start = utf16_len(text[: match.start()])
            entities.append(
                {"type": "mention", "offset": start, "length": utf16_len(match.group())}
            )
        return sorted(entities, key=lambda e: e["offset"])

    def _visible(self, chat: dict, message: dict) -> bool:
        """Privacy mode: in groups the bot sees commands to it, mentions and replies to it."""
        if chat["type"] == "private" or not self.privacy_mode:
            return True
        text = message.get("text") or message.get("caption") or ""
        command = re.match(r"/[a-zA-Z0-9_]+(?:@([a-zA-Z0-9_]+))?", text)
        if command:
            return command.group(1) is None or command.group(1).lower() == self.username.lower()
        if f"@{self.username}".lower() in text.lower():
            return True
        reply = message.get("reply_to_message") or {}
        return (reply.get("from") or {}).get("id") == self.bot_id

    def _push_if_visible(self, chat: dict, message: dict) -> dict | None:
        if not self._visible(chat, message):
            return None
        return self._push({"message": message})["message"]

    def _push(self, update: dict) -> dict:
        with self._cond:
            update = {"update_id": next(self._ids)} | update
            self._updates.append(update)
            self._cond.notify_all()
        return update

    # HTTP ------------------------------------------------------------------------

    def _handle(self, request: BaseHTTPRequestHandler) -> None:
        path = unquote(request.path.split("?", 1)[0])
        file_match = re.fullmatch(r"/file/bot([^/]+)/(.+)", path)
        api_match = re.fullmatch(r"/bot([^/]+)/([A-Za-z]+)", path)
        if file_match:
            self._serve_file(request, file_match.group(1), file_match.group(2))
            return
        params = self._params(request)
        if not api_match:
            self._reply(request, 404, {"ok": False, "error_code": 404, "description": "Not Found"})
            return
        token, method = api_match.groups()
        if token != self.token:
            self._reply(
                request, 401, {"ok": False, "error_code": 401, "description": "Unauthorized"}
            )
            return
        fail = self._fail.get(method)
        if fail and fail[1] > 0:
            fail[1] -= 1
            if fail[0] == "close":
                request.close_connection = True
                request.connection.close()
                return
            self._reply(
                request, 502, {"ok": False, "error_code": 502, "description": "Bad Gateway"}
            )
            return
        flood = self._flood.get(method)
        if flood and flood[1] > 0:
            flood[1] -= 1
            description = f"Too Many Requests: retry after {flood[0]}"
            self.errors.append((method, description))
            body = {"ok": False, "error_code": 429, "description": description,
                    "parameters": {"retry_after": flood[0]}}  # fmt: skip
            self._reply(request, 429, body)
            return
        handler = getattr(self, f"_api_{method}", None)
        if handler is None:
            self._reply(request, 404, {"ok": False, "error_code": 404, "description": "Not Found"})
            return
        try:
            result = handler(params)
        except ApiError as exc:
            self.errors.append((method, exc.description))
            body = {"ok": False, "error_code": exc.code, "description": exc.description}
            self._reply(
                request, exc.code, body | ({"parameters": exc.parameters} if exc.parameters else {})
            )
            return
        if method != "getUpdates":
            self.calls.append((method, params))
        self._reply(request, 200, {"ok": True, "result": result})

    @staticmethod
    def _params(request: BaseHTTPRequestHandler) -> dict:
        length = int(request.headers.get("Content-Length") or 0)
        body = request.rfile.read(length) if length else b""
        ctype = request.headers.get("Content-Type", "")
        params: dict[str, Any] = {}
        if ctype.startswith("application/json") and body:
            return json.loads(body)
        if ctype.startswith("multipart/form-data"):
            boundary = re.search(r'boundary="?([^";]+)"?', ctype).group(1).encode()
            for part in body.split(b"--" + boundary):
                head, _, value = part.partition(b"\r\n\r\n")
                name = re.search(rb'name="([^"]+)"', head)
                if name and not re.search(rb"filename=", head):
                    params[name.group(1).decode()] = value.rstrip(b"\r\n").decode()
        elif body:
            params = dict(parse_qsl(body.decode(), keep_blank_values=True))
        if "?" in request.path:
            params |= dict(parse_qsl(request.path.split("?", 1)[1]))
        for key, value in list(params.items()):
            if isinstance(value, str) and value[:1] in "[{":
                with contextlib.suppress(ValueError):
                    params[key] = json.loads(value)
        return params

    @staticmethod
    def _reply(request: BaseHTTPRequestHandler, status: int, body: dict) -> None:
        data = json.dumps(body, ensure_ascii=False).encode()
        request.send_response(status)
        request.send_header("Content-Type", "application/json")
        request.send_header("Content-Length", str(len(data)))
        request.end_headers()
        request.wfile.write(data)

    def _serve_file(self, request: BaseHTTPRequestHandler, token: str, file_path: str) -> None:
        content = next((data for path, data in self._files.values() if path == file_path), None)
        if token != self.token or content is None:
            self._reply(request, 404, {"ok": False, "error_code": 404, "description": "Not Found"})
            return
        request.send_response(200)
        request.send_header("Content-Type", "application/octet-stream")
        request.send_header("Content-Length", str(len(content)))
        request.end_headers()
        request.wfile.write(content)

    # API methods -------------------------------------------------------------------

    def _api_getMe(self, params: dict) -> dict:
        return self.bot_user | {
            "can_join_groups": True,
            "can_read_all_group_messages": not self.privacy_mode,
            "supports_inline_queries": True,
        }

    def _api_getUpdates(self, params: dict) -> list[dict]:
        offset = int(params.get("offset") or 0)
        limit = int(params.get("limit") or 100)
        timeout = float(params.get("timeout") or 0)
        deadline = time.monotonic() + timeout
        with self._cond:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
            while not self._updates and self._httpd and time.monotonic() < deadline:
                self._cond.wait(max(0.0, min(0.5, deadline - time.monotonic())))
            return self._updates[:limit]

    def _api_deleteWebhook(self, params: dict) -> bool:
        return True

    def _api_setMyCommands(self, params: dict) -> bool:
        commands = params.get("commands") or []
        for command in commands:
            if not re.fullmatch(r"[a-z0-9_]{1,32}", command.get("command", "")):
                raise _bad("BOT_COMMAND_INVALID")
            if not 1 <= len(command.get("description", "")) <= 256:
                raise _bad("command description is empty")
        scope = (params.get("scope") or {}).get("type", "default")
        self.commands[scope] = commands
        return True

    def _api_sendChatAction(self, params: dict) -> bool:
        return True

    def _api_sendMessage(self, params: dict) -> dict:
        chat_id = int(params["chat_id"])
        text, entities = self._checked_text(params.get("text", ""), params.get("parse_mode"))
        markup = self._checked_markup(params.get("reply_markup"))
        message = self._message(self._chat(chat_id), self.bot_user, text=text)
        message |= {"html": params.get("text", ""), "entities": entities}
        if markup:
            message["reply_markup"] = markup
        reply_to = (params.get("reply_parameters") or {}).get("message_id") or params.get(
            "reply_to_message_id"
        )
        if reply_to:
            message["reply_to_message_id"] = int(reply_to)
        with self._cond:
            self._bot_messages[(chat_id, message["message_id"])] = message
        return {k: v for k, v in message.items() if k not in ("html", "reply_to_message_id")}

    def _api_editMessageText(self, params: dict) -> dict:
        key = (int(params["chat_id"]), int(params["message_id"]))
        with self._cond:
            message = self._bot_messages.get(key)
        if message is None:
            raise _bad("message to edit not found")
        text, entities = self._checked_text(params.get("text", ""), params.get("parse_mode"))
        markup = self._checked_markup(params.get("reply_markup"))
        if text == message["text"] and markup == message.get("reply_markup"):
            raise _bad(
                "message is not modified: specified new message content and reply markup are "
                "exactly the same as a current content and reply markup of the message"
            )
        message |= {"text": text, "entities": entities, "html": params.get("text", "")}
        message["edited"] = message.get("edited", 0) + 1
        if markup:
            message["reply_markup"] = markup
        else:
            message.pop("reply_markup", None)
        return {
            k: v for k, v in message.items() if k not in ("html", "reply_to_message_id", "edited")
        }

    def _api_answerCallbackQuery(self, params: dict) -> bool:
        text = params.get("text") or ""
        if len(text) > 200:
            raise _bad("MESSAGE_TOO_LONG")
        self.callback_answers[str(params["callback_query_id"])] = params
        return True

    def _api_answerInlineQuery(self, params: dict) -> bool:
        query_id = str(params["inline_query_id"])
        if query_id not in self._pending_inline:
            raise _bad("query is too old and response timeout expired or query ID is invalid")
        results = params.get("results") or []
        if len(results) > MAX_INLINE_RESULTS:
            raise _bad("RESULTS_TOO_MUCH")
        ids = [str(r.get("id", "")) for r in results]
        if any(not 1 <= len(i.encode()) <= 64 for i in ids):
            raise _bad("RESULT_ID_INVALID")
        if len(set(ids)) != len(ids):
            raise _bad("RESULT_ID_DUPLICATE")
        for result in results:
            content = result.get("input_message_content") or {}
            try:
                self._checked_text(content.get("message_text", ""), content.get("parse_mode"))
            except ApiError as exc:
                raise _bad(
                    "MESSAGE_TOO_LONG" if "too long" in exc.description else exc.description[13:]
                ) from exc
            self._checked_markup(result.get("reply_markup"))
        self._pending_inline.discard(query_id)
        self.inline_answers[query_id] = params
        return True

    def _api_getFile(self, params: dict) -> dict:
        file_id = params.get("file_id", "")
        if file_id not in self._files:
            raise _bad("invalid file_id")
        path, content = self._files[file_id]
        return {"file_id": file_id, "file_unique_id": f"u{file_id}", "file_size": len(content),
                "file_path": path}  # fmt: skip

    def _api_sendDocument(self, params: dict) -> dict:
        chat_id = int(params["chat_id"])
        message = self._message(self._chat(chat_id), self.bot_user, caption=params.get("caption"))
        with self._cond:
            self._bot_messages[(chat_id, message["message_id"])] = message | {"text": ""}
        return message

    # checks ---------------------------------------------------------------------

    @staticmethod
    def _checked_text(source: str, parse_mode: str | None) -> tuple[str, list[dict]]:
        if parse_mode and parse_mode.upper() == "HTML":
            try:
                text, entities = parse_html(source)
            except EntityError as exc:
                raise _bad(f"can't parse entities: {exc}") from exc
        else:
            text, entities = source, []
        if not text.strip():
            raise _bad("message text is empty")
        if utf16_len(text) > MAX_TEXT:
            raise _bad("message is too long")
        return text, entities

    @staticmethod
    def _checked_markup(markup: dict | None) -> dict | None:
        if not markup:
            return None
        for row in markup.get("inline_keyboard", []):
            for button in row:
                if not button.get("text"):
                    raise _bad("text buttons are unallowed in the inline keyboard")
                data = button.get("callback_data")
                if data is not None and not 1 <= len(data.encode()) <= MAX_CALLBACK_DATA:
                    raise _bad("BUTTON_DATA_INVALID")
        return markup

    def _chat(self, chat_id: int) -> dict:
        if chat_id > 0:
            return {"id": chat_id, "type": "private", "first_name": "测试"}
        return {"id": chat_id, "type": "supergroup", "title": "工会工作群"}
