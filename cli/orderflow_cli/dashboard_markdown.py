"""The markdown of a dashboard's text widgets, as safe HTML: a small subset of what CloudWatch
renders (headings, paragraphs, emphasis, inline code, code blocks, lists, tables, rules,
links and CloudWatch's ``[button:Label](url)`` links). Everything is escaped first; a link
keeps its address only when it is http(s), mailto or relative (never ``javascript:``)."""

from __future__ import annotations

import html
import re

_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_BULLET = re.compile(r"^\s*[-*+]\s+(.*)$")
_NUMBERED = re.compile(r"^\s*\d+[.)]\s+(.*)$")
_RULE = re.compile(r"^\s*([-*_])(\s*\1){2,}\s*$")
_TABLE_SEPARATOR = re.compile(r"^\s*\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)*\|?\s*$")
_CODE_SPAN = re.compile(r"`([^`]+)`")
_LINK = re.compile(r"\[([^\]]+)\]\(([^)\s]+)\)")
_BOLD = re.compile(r"\*\*(.+?)\*\*|__(.+?)__")
_ITALIC = re.compile(r"(?<![\w*])\*(?!\s)(.+?)(?<!\s)\*(?!\*)|(?<![\w_])_(?!\s)(.+?)(?<!\s)_(?!\w)")
_SAFE_URL = re.compile(r"^(https?://|mailto:|#|/|\./|\.\./|[\w.-]+(/|$))", re.IGNORECASE)


def _safe_url(url: str) -> str | None:
    raw = html.unescape(url)
    if ":" in raw.split("/", 1)[0] and not re.match(r"^(https?|mailto):", raw, re.IGNORECASE):
        return None
    return url if _SAFE_URL.match(raw) else None


def inline(text: str) -> str:
    """Escape, then code spans (kept literal), links, bold, italic."""
    escaped = html.escape(text, quote=True)
    spans: list[str] = []

    def keep(match: re.Match[str]) -> str:
        spans.append(f"<code>{match.group(1)}</code>")
        return f"\x00{len(spans) - 1}\x00"

    escaped = _CODE_SPAN.sub(keep, escaped)

    def link(match: re.Match[str]) -> str:
        label, url = match.group(1), match.group(2)
        button = ""
        for prefix in ("button:primary:", "button:"):
            if label.startswith(prefix):
                label, button = label[len(prefix) :], ' class="button"'
                break
        safe = _safe_url(url)
        if safe is None:
            return label
        return f'<a href="{safe}"{button} rel="noopener noreferrer">{label}</a>'

    escaped = _LINK.sub(link, escaped)
    escaped = _BOLD.sub(lambda m: f"<strong>{m.group(1) or m.group(2)}</strong>", escaped)
    escaped = _ITALIC.sub(lambda m: f"<em>{m.group(1) or m.group(2)}</em>", escaped)
    return re.sub("\x00(\\d+)\x00", lambda m: spans[int(m.group(1))], escaped)


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def _list(lines: list[str], index: int) -> tuple[str, int]:
    """The list starting at ``lines[index]``, and the index after it."""
    numbered = bool(_NUMBERED.match(lines[index]))
    pattern = _NUMBERED if numbered else _BULLET
    items = []
    while index < len(lines) and (item := pattern.match(lines[index])):
        items.append(f"<li>{inline(item.group(1))}</li>")
        index += 1
    tag = "ol" if numbered else "ul"
    return f"<{tag}>{''.join(items)}</{tag}>", index


def _is_table(lines: list[str], index: int) -> bool:
    return (
        "|" in lines[index]
        and index + 1 < len(lines)
        and "|" in lines[index + 1]
        and bool(_TABLE_SEPARATOR.match(lines[index + 1]))
    )


def _table(lines: list[str], index: int) -> tuple[str, int]:
    """The table whose header is ``lines[index]``, and the index after it."""
    head = "".join(f"<th>{inline(cell)}</th>" for cell in _cells(lines[index]))
    index += 2
    rows = []
    while index < len(lines) and "|" in lines[index]:
        cells = "".join(f"<td>{inline(cell)}</td>" for cell in _cells(lines[index]))
        rows.append(f"<tr>{cells}</tr>")
        index += 1
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>", index


def _code(lines: list[str], index: int) -> tuple[str, int]:
    """The fenced block opening at ``lines[index]``, and the index after its closing fence."""
    index += 1
    code = []
    while index < len(lines) and not lines[index].strip().startswith("```"):
        code.append(html.escape(lines[index]))
        index += 1
    return f"<pre><code>{chr(10).join(code)}</code></pre>", index + 1


def render_markdown(text: str) -> str:
    lines = text.replace("\r\n", "\n").split("\n")
    out: list[str] = []
    paragraph: list[str] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        block: str | None = None
        if line.strip().startswith("```"):
            block, index = _code(lines, index)
        elif _BULLET.match(line) or _NUMBERED.match(line):
            block, index = _list(lines, index)
        elif _is_table(lines, index):
            block, index = _table(lines, index)
        else:
            index += 1
            if heading := _HEADING.match(line):
                level = len(heading.group(1)) + 2
                block = f"<h{level}>{inline(heading.group(2))}</h{level}>"
            elif _RULE.match(line):
                block = "<hr>"
            elif line.strip():
                paragraph.append(line.strip())
                continue
            else:
                block = ""
        if paragraph:
            out.append(f"<p>{'<br>'.join(inline(part) for part in paragraph)}</p>")
            paragraph.clear()
        if block:
            out.append(block)
    if paragraph:
        out.append(f"<p>{'<br>'.join(inline(part) for part in paragraph)}</p>")
    return "\n".join(out)
