"""Telegram's formatting options (HTML, MarkdownV2, Markdown): text -> (plain text, entities).

Like Telegram, malformed markup is an error ("Bad Request: can't parse entities: ..."), and the
1-4096 limit applies to the plain text left after parsing. Entity offsets are UTF-16 units.
"""

from __future__ import annotations

import html
import re
from typing import Any


class EntityParseError(ValueError):
    pass


def utf16_len(s: str) -> int:
    return len(s.encode("utf-16-le")) // 2


def parse_text(text: str, parse_mode: str | None) -> tuple[str, list[dict[str, Any]]]:
    if parse_mode is None:
        return text, []
    mode = parse_mode.lower()
    if mode == "html":
        return _parse_html(text)
    if mode == "markdownv2":
        return _parse_markdown(text, v2=True)
    if mode == "markdown":
        return _parse_markdown(text, v2=False)
    raise EntityParseError(f"unsupported parse_mode {parse_mode!r}")


# ---------------------------------------------------------------------------------- HTML
_SIMPLE_TAGS = {
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
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
}
_ALL_TAGS = set(_SIMPLE_TAGS) | {"a", "span", "tg-emoji", "tg-time"}
_ATTR_RE = re.compile(
    r"""\s*([a-zA-Z_:-][a-zA-Z0-9_:.-]*)(?:\s*=\s*("[^"]*"|'[^']*'|[^\s"'>]+))?"""
)
_ENTITY_RE = re.compile(r"&(lt|gt|amp|quot|#[0-9]{1,7}|#x[0-9a-fA-F]{1,6});")


class _Builder:
    def __init__(self) -> None:
        self.parts: list[str] = []
        self.u16 = 0

    def add(self, s: str) -> None:
        self.parts.append(s)
        self.u16 += utf16_len(s)

    def text(self) -> str:
        return "".join(self.parts)


def _byte_offset(text: str, i: int) -> int:
    return len(text[:i].encode("utf-8"))


def _parse_html(text: str) -> tuple[str, list[dict[str, Any]]]:
    out = _Builder()
    stack: list[tuple[str, int, dict[str, str]]] = []  # (tag, start u16, attrs)
    entities: list[dict[str, Any]] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == "&":
            m = _ENTITY_RE.match(text, i)
            if m:
                out.add(html.unescape(m.group(0)))
                i = m.end()
            else:
                out.add("&")
                i += 1
            continue
        if c != "<":
            j = i
            while j < n and text[j] not in "<&":
                j += 1
            out.add(text[i:j])
            i = j
            continue
        end = text.find(">", i)
        if end < 0:
            raise EntityParseError(
                f"Can't find end of the tag starting at byte offset {_byte_offset(text, i)}"
            )
        inner = text[i + 1 : end]
        if inner.startswith("/"):
            name = inner[1:].strip().lower()
            if not stack:
                raise EntityParseError(f"Unexpected end tag at byte offset {_byte_offset(text, i)}")
            tag, start, attrs = stack.pop()
            if name != tag:
                raise EntityParseError(
                    f"Unmatched end tag at byte offset {_byte_offset(text, i)}, "
                    f'expected "</{tag}>", found "</{name}>"'
                )
            ent = _html_entity(tag, attrs, start, out.u16 - start)
            if ent is not None:
                entities.append(ent)
            i = end + 1
            continue
        m = re.match(r"([a-zA-Z][a-zA-Z0-9-]*)", inner)
        name = m.group(1).lower() if m else ""
        if name not in _ALL_TAGS:
            raise EntityParseError(
                f'Unsupported start tag "{name}" at byte offset {_byte_offset(text, i)}'
            )
        attrs: dict[str, str] = {}
        rest = inner[len(name) :].rstrip("/")
        pos = 0
        while pos < len(rest):
            am = _ATTR_RE.match(rest, pos)
            if not am or am.end() == pos:
                if rest[pos:].strip() == "":
                    break
                raise EntityParseError(
                    f'Can\'t parse attributes of tag "{name}" at byte offset '
                    f"{_byte_offset(text, i)}"
                )
            val = am.group(2) or ""
            if val[:1] in "\"'":
                val = val[1:-1]
            attrs[am.group(1).lower()] = html.unescape(val)
            pos = am.end()
        if name == "span" and attrs.get("class") != "tg-spoiler":
            raise EntityParseError(
                f'Tag "span" must have class "tg-spoiler" at byte offset {_byte_offset(text, i)}'
            )
        if name == "a" and "href" not in attrs:
            attrs["href"] = ""
        stack.append((name, out.u16, attrs))
        i = end + 1
    if stack:
        raise EntityParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return out.text(), entities


def _html_entity(tag: str, attrs: dict[str, str], offset: int, length: int) -> dict | None:
    if length == 0:
        return None
    if tag == "span":
        etype = "spoiler"
    elif tag == "a":
        href = attrs.get("href", "")
        m = re.match(r"tg://user\?id=(\d+)$", href)
        if m:
            return {
                "type": "text_mention",
                "offset": offset,
                "length": length,
                "user": {"id": int(m.group(1)), "is_bot": False, "first_name": "?"},
            }
        if not href:
            return None
        return {"type": "text_link", "offset": offset, "length": length, "url": href}
    elif tag == "tg-emoji":
        return {
            "type": "custom_emoji",
            "offset": offset,
            "length": length,
            "custom_emoji_id": attrs.get("emoji-id", ""),
        }
    elif tag == "tg-time":
        return None
    elif tag == "blockquote" and "expandable" in attrs:
        etype = "expandable_blockquote"
    else:
        etype = _SIMPLE_TAGS[tag]
    ent: dict[str, Any] = {"type": etype, "offset": offset, "length": length}
    if tag == "code" and attrs.get("class", "").startswith("language-"):
        ent["type"] = "pre"
        ent["language"] = attrs["class"][len("language-") :]
    return ent


# ------------------------------------------------------------------------------ Markdown
_V2_RESERVED = set("_*[]()~`>#+-=|{}.!")
_V1_MARKS = {"*": "bold", "_": "italic"}


def _parse_markdown(text: str, v2: bool) -> tuple[str, list[dict[str, Any]]]:
    out = _Builder()
    entities: list[dict[str, Any]] = []
    stack: list[tuple[str, int, int]] = []  # (entity type, start u16, byte offset)
    i, n = 0, len(text)
    line_start = True

    def err_reserved(ch: str) -> EntityParseError:
        return EntityParseError(
            f"Character '{ch}' is reserved and must be escaped with the preceding '\\'"
        )

    def toggle(etype: str, width: int) -> None:
        nonlocal i
        if stack and stack[-1][0] == etype:
            _, start, _ = stack.pop()
            if out.u16 > start:
                entities.append({"type": etype, "offset": start, "length": out.u16 - start})
        elif any(s[0] == etype for s in stack):
            raise EntityParseError(
                f"Can't find end of {_title(stack[-1][0])} entity at byte offset {stack[-1][2]}"
            )
        else:
            stack.append((etype, out.u16, _byte_offset(text, i)))
        i += width

    while i < n:
        c = text[i]
        at_line_start = line_start
        line_start = c == "\n"
        if c == "\\" and v2:
            if i + 1 < n and 0 < ord(text[i + 1]) <= 126:
                out.add(text[i + 1])
                i += 2
                continue
            raise err_reserved("\\")
        if c == "`":
            fence = 3 if text.startswith("```", i) else 1
            close = _find_unescaped(text, "`" * fence, i + fence, v2)
            if close < 0:
                kind = "Pre" if fence == 3 else "Code"
                raise EntityParseError(
                    f"Can't find end of {kind} entity at byte offset {_byte_offset(text, i)}"
                )
            body = text[i + fence : close]
            lang = None
            if fence == 3 and "\n" in body:
                first, rest = body.split("\n", 1)
                if first and re.match(r"^[\w+-]+$", first):
                    lang, body = first, rest
            if v2:
                body = re.sub(r"\\([\\`])", r"\1", body)
            start = out.u16
            out.add(body)
            if body:
                ent: dict[str, Any] = {
                    "type": "pre" if fence == 3 else "code",
                    "offset": start,
                    "length": out.u16 - start,
                }
                if lang:
                    ent["language"] = lang
                entities.append(ent)
            i = close + fence
            continue
        if v2:
            if c == "*":
                toggle("bold", 1)
                continue
            if c == "_":
                if text.startswith("__", i):
                    toggle("underline", 2)
                else:
                    toggle("italic", 1)
                continue
            if c == "~":
                toggle("strikethrough", 1)
                continue
            if c == "|":
                if text.startswith("||", i):
                    toggle("spoiler", 2)
                    continue
                raise err_reserved("|")
            if c == ">" and at_line_start:
                i += 1
                continue
            if c == "!" and text.startswith("![", i):
                stack.append(("custom_emoji", out.u16, _byte_offset(text, i)))
                i += 2
                continue
        else:
            if c in _V1_MARKS:
                toggle(_V1_MARKS[c], 1)
                continue
        if c == "[":
            stack.append(("text_link", out.u16, _byte_offset(text, i)))
            i += 1
            continue
        if c == "]" and stack and stack[-1][0] in ("text_link", "custom_emoji"):
            etype, start, boff = stack.pop()
            if not text.startswith("(", i + 1):
                if v2 or etype == "custom_emoji":
                    raise err_reserved("]")
                i += 1
                continue
            close = _find_unescaped(text, ")", i + 2, v2)
            if close < 0:
                raise EntityParseError(f"Can't find end of a URL at byte offset {boff}")
            url = text[i + 2 : close]
            if v2:
                url = re.sub(r"\\([\\)])", r"\1", url)
            if out.u16 > start:
                ent = {"type": etype, "offset": start, "length": out.u16 - start}
                if etype == "text_link":
                    ent["url"] = url
                else:
                    ent["custom_emoji_id"] = url.rsplit("=", 1)[-1]
                entities.append(ent)
            i = close + 1
            continue
        if v2 and c in _V2_RESERVED:
            raise err_reserved(c)
        out.add(c)
        i += 1
    if stack:
        etype, _, boff = stack[-1]
        if v2:
            raise EntityParseError(
                f"Can't find end of {_title(etype)} entity at byte offset {boff}"
            )
        raise EntityParseError(f"Can't find end of the entity starting at byte offset {boff}")
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return out.text(), entities


def _find_unescaped(text: str, needle: str, start: int, v2: bool) -> int:
    i = start
    while True:
        j = text.find(needle, i)
        if j < 0:
            return -1
        if v2:
            backslashes = 0
            k = j - 1
            while k >= start and text[k] == "\\":
                backslashes += 1
                k -= 1
            if backslashes % 2:
                i = j + 1
                continue
        return j


def _title(etype: str) -> str:
    return {
        "bold": "Bold",
        "italic": "Italic",
        "underline": "Underline",
        "strikethrough": "Strikethrough",
        "spoiler": "Spoiler",
        "text_link": "TextUrl",
        "custom_emoji": "CustomEmoji",
    }.get(etype, etype)
