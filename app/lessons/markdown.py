"""A small, safe Markdown-to-HTML renderer for lesson prose: every character of the file is escaped, so no raw HTML passes through."""

from __future__ import annotations

import re
from html import escape
from urllib.parse import urlsplit

# What a lesson's prose may use: paragraphs, "-"/"*"/"1." lists, ### and #### headings,
# ``` code blocks, `code`, **bold**, *italics* (or _italics_), [links](url) to relative or
# http(s) addresses, and TeX maths kept as text: $...$ inline, $$...$$ on its own lines.
# Maths is not typeset (no KaTeX download): the page shows the escaped TeX in a .math element.
# No span may run past the next opening of its own kind, so each mark is found in linear time
# (a paragraph of "**a " repeated took 91 s with a lazy ".*?" that scanned to its end).

_INLINE = re.compile(
    r"\\(?P<escaped>[\\`*_$\[\]()#])"
    r"|`(?P<code>[^`]+)`"
    r"|\$\$(?P<display>(?:(?!\$\$).)+?)\$\$"
    r"|\$(?P<math>[^$\s](?:[^$]*?[^$\s])?)\$"
    r"|\[(?P<label>[^\[\]]+)\]\((?P<href>(?:[^()\s]|\([^()\s]*\))+)\)"
    r"|\*\*(?P<bold>[^*\s](?:(?:(?!\*\*).)*?[^*\s])?)\*\*"
    r"|\*(?P<em>[^*\s](?:[^*]*?[^*\s])?)\*"
    r"|(?<![A-Za-z0-9])_(?P<em2>[^_\s](?:[^_]*?[^_\s])?)_(?![A-Za-z0-9])"
)
_BULLET = re.compile(r"[-*] +(.*)")
_NUMBERED = re.compile(r"\d{1,9}\. +(.*)")
_HEADING = re.compile(r"(###|####) +(.*)")


class MarkdownError(ValueError):
    """Prose that cannot be shown as written; `line` is its line in the file."""

    def __init__(self, line: int, reason: str) -> None:
        super().__init__(reason)
        self.line = line
        self.reason = reason


def _href(url: str, line: int) -> str:
    """A link's address, when it is relative or http(s); anything else (javascript:, data:) is
    refused, since the page would follow it."""
    parts = urlsplit(url)
    if parts.scheme in ("http", "https") and parts.netloc:
        return url
    if not parts.scheme and not url.startswith("//"):
        return url
    raise MarkdownError(
        line, f"link address {url!r:.80} must be relative (/lessons/x) or start with https://"
    )


def inline(text: str, line: int) -> str:
    """One paragraph's or item's text as HTML: every character escaped, then the marks."""
    out: list[str] = []
    at = 0
    for match in _INLINE.finditer(text):
        out.append(escape(text[at : match.start()]))
        at = match.end()
        kind = match.lastgroup
        if kind == "escaped":
            out.append(escape(match["escaped"]))
        elif kind == "code":
            out.append(f"<code>{escape(match['code'])}</code>")
        elif kind == "display":
            out.append(f'<span class="math display">{escape(match["display"])}</span>')
        elif kind == "math":
            out.append(f'<span class="math">{escape(match["math"])}</span>')
        elif kind == "href":
            href = _href(match["href"], line)
            external = ' rel="noopener noreferrer"' if urlsplit(href).scheme else ""
            label = inline(match["label"], line)
            out.append(f'<a href="{escape(href)}"{external}>{label}</a>')
        elif kind == "bold":
            out.append(f"<strong>{inline(match['bold'], line)}</strong>")
        else:
            out.append(f"<em>{inline(match[kind or 'em'], line)}</em>")
    out.append(escape(text[at:]))
    return "".join(out)


def render(lines: list[tuple[int, str]]) -> str:
    """The HTML of prose given as (line number in the file, text) pairs."""
    html: list[str] = []
    i = 0
    while i < len(lines):
        number, text = lines[i]
        stripped = text.strip()
        if not stripped:
            i += 1
        elif stripped.startswith("```"):
            i = _code_block(lines, i, html)
        elif stripped.startswith("$$") and not (len(stripped) > 4 and stripped.endswith("$$")):
            i = _display_maths(lines, i, html)
        elif stripped.startswith("$$"):
            html.append(f'<div class="math">{escape(stripped[2:-2].strip())}</div>')
            i += 1
        elif heading := _HEADING.fullmatch(stripped):
            level = len(heading[1])
            html.append(f"<h{level}>{inline(heading[2], number)}</h{level}>")
            i += 1
        elif _BULLET.fullmatch(stripped) or _NUMBERED.fullmatch(stripped):
            i = _list(lines, i, html)
        else:
            i = _paragraph(lines, i, html)
    return "\n".join(html)


def _starts_block(text: str) -> bool:
    s = text.strip()
    return (
        not s
        or s.startswith("```")
        or s.startswith("$$")
        or bool(_HEADING.fullmatch(s) or _BULLET.fullmatch(s) or _NUMBERED.fullmatch(s))
    )


def _paragraph(lines: list[tuple[int, str]], i: int, html: list[str]) -> int:
    first = lines[i][0]
    words = [lines[i][1].strip()]
    i += 1
    while i < len(lines) and not _starts_block(lines[i][1]):
        words.append(lines[i][1].strip())
        i += 1
    html.append(f"<p>{inline(' '.join(words), first)}</p>")
    return i


def _list(lines: list[tuple[int, str]], i: int, html: list[str]) -> int:
    ordered = bool(_NUMBERED.fullmatch(lines[i][1].strip()))
    marker = _NUMBERED if ordered else _BULLET
    items: list[tuple[int, list[str]]] = []
    while i < len(lines):
        number, text = lines[i]
        item = marker.fullmatch(text.strip())
        if item:
            items.append((number, [item[1]]))
        elif text.strip() and text[:1] in (" ", "\t") and items:
            items[-1][1].append(text.strip())  # an indented line continues the item
        else:
            break
        i += 1
    tag = "ol" if ordered else "ul"
    body = "".join(f"<li>{inline(' '.join(words), n)}</li>" for n, words in items)
    html.append(f"<{tag}>{body}</{tag}>")
    return i


def _code_block(lines: list[tuple[int, str]], i: int, html: list[str]) -> int:
    opened = lines[i][0]
    body: list[str] = []
    i += 1
    while i < len(lines):
        if lines[i][1].strip() == "```":
            html.append(f"<pre><code>{escape(chr(10).join(body))}</code></pre>")
            return i + 1
        body.append(lines[i][1])
        i += 1
    raise MarkdownError(opened, "code block opened with ``` is never closed")


def _display_maths(lines: list[tuple[int, str]], i: int, html: list[str]) -> int:
    opened = lines[i][0]
    body = [lines[i][1].strip()[2:]]
    i += 1
    while i < len(lines):
        text = lines[i][1].strip()
        if text.endswith("$$"):
            body.append(text[:-2])
            tex = "\n".join(part for part in body if part.strip()).strip()
            html.append(f'<div class="math">{escape(tex)}</div>')
            return i + 1
        body.append(text)
        i += 1
    raise MarkdownError(opened, "display maths opened with $$ is never closed")
