"""Telegram's HTML parse mode, as strict as the real server: the tests rely on its errors."""

from __future__ import annotations

import html
import re

ALLOWED = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
TAG = re.compile(
    r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)((?:\s+[a-zA-Z-]+(?:=(?:\"[^\"]*\"|'[^']*'|[^\s>]+))?)*)\s*>"
)
ENTITY = re.compile(r"&(#\d{1,7}|#x[0-9a-fA-F]{1,6}|lt|gt|amp|quot);")


class EntityError(ValueError):
    """What Telegram answers with HTTP 400 "Bad Request: can't parse entities: …"."""


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def parse_html(source: str) -> tuple[str, list[dict]]:
    """Plain text and entities (UTF-16 offsets), or EntityError with Telegram's wording."""
    out: list[str] = []
    entities: list[dict] = []
    stack: list[tuple[str, int, dict]] = []
    i = 0
    while i < len(source):
        ch = source[i]
        offset = len(source[:i].encode())
        if ch == "<":
            match = TAG.match(source, i)
            if not match:
                raise EntityError(f'Unsupported start tag "" at byte offset {offset}')
            closing, name, attrs = match.group(1), match.group(2).lower(), match.group(3)
            if name not in ALLOWED:
                kind = "end" if closing else "start"
                raise EntityError(f'Unsupported {kind} tag "{name}" at byte offset {offset}')
            position = utf16_len("".join(out))
            if closing:
                if not stack or stack[-1][0] != name:
                    raise EntityError(f"Unexpected end tag at byte offset {offset}")
                open_name, start, extra = stack.pop()
                if position > start:
                    entities.append(
                        {"type": ALLOWED[open_name], "offset": start, "length": position - start}
                        | extra
                    )
            else:
                extra = {}
                if name == "a":
                    href = re.search(r"href=(?:\"([^\"]*)\"|'([^']*)')", attrs)
                    extra = (
                        {"url": html.unescape(next(g for g in href.groups() if g is not None))}
                        if href
                        else {}
                    )
                stack.append((name, position, extra))
            i = match.end()
        elif ch == "&":
            match = ENTITY.match(source, i)
            if not match:
                raise EntityError(
                    f"Character entity expected at byte offset {offset}"
                    if ";" not in source[i : i + 10]
                    else f"Unsupported HTML entity at byte offset {offset}"
                )
            out.append(html.unescape(match.group()))
            i = match.end()
        elif ch == ">":
            out.append(ch)
            i += 1
        else:
            out.append(ch)
            i += 1
    if stack:
        raise EntityError(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    return "".join(out), sorted(entities, key=lambda e: (e["offset"], -e["length"]))
