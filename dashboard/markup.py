"""Text from data or the URL, made safe to put into Markdown: it is shown, never interpreted.

Streamlit renders Markdown (links, images, ``:color[...]`` directives, ``$math$``, HTML that it
shows as text) in ``st.markdown``, captions, alerts, metric labels, widget labels and ``help``
tooltips. Anything that comes from a platform, a producer or the address bar — error codes,
player and bet ids, response bodies, run names, query parameters — goes through :func:`text`
(plain text) or :func:`code` (an inline code span) before it is put into such a string; longer
values go into ``st.code`` or dataframe cells, which never interpret their content.

Pure, so every rule is tested with plain values.
"""
from __future__ import annotations

import re
import string

#: Longest value shown inline before it is cut (the whole value stays in code blocks and tables).
INLINE_LIMIT = 200

#: Every ASCII punctuation character: CommonMark lets a backslash escape each of them, and
#: escaped, none of them can open a link, an image, emphasis, code, HTML, a directive or math.
_PUNCTUATION = re.compile("([" + re.escape(string.punctuation) + "])")
#: Characters that change how the text around them reads without being seen: bidirectional
#: overrides and isolates, zero-width characters, the byte-order mark.
_INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")
#: Control characters other than the ones that break lines.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_LINE_BREAKS = re.compile(r"[\r\n\u2028\u2029]+")
#: Where GitHub-flavoured Markdown turns plain text into a link even when every punctuation
#: character is escaped (it links the text, after escapes are read): ``http://``, ``https://``,
#: ``www.`` and ``name@host``. A WORD JOINER (U+2060, invisible) is put inside each.
_AUTOLINK = re.compile(r"(?i)(?<=https)(?=://)|(?<=http)(?=://)|(?<=www)(?=\.)|(?=@)")
WORD_JOINER = "\u2060"


def visible(value: object, limit: int | None = INLINE_LIMIT) -> str:
    """``value`` as one line of plain characters: control characters dropped, invisible ones
    named (``<U+202E>``), line breaks as spaces, cut at ``limit`` characters with an ellipsis."""
    shown = "" if value is None else str(value)
    shown = _CONTROL.sub("", _LINE_BREAKS.sub(" ", shown))
    shown = _INVISIBLE.sub(lambda m: f"<U+{ord(m.group()):04X}>", shown)
    if limit is not None and len(shown) > limit:
        shown = shown[:limit - 1] + "…"
    return shown


def text(value: object, limit: int | None = INLINE_LIMIT) -> str:
    """``value`` as Markdown that renders exactly as the characters it holds (see
    :func:`visible`): every punctuation character escaped, and an invisible word joiner inside
    what would otherwise be linked (``https://``, ``www.``, ``@``)."""
    return _PUNCTUATION.sub(r"\\\1", _AUTOLINK.sub(WORD_JOINER, visible(value, limit)))


def code(value: object, limit: int | None = INLINE_LIMIT) -> str:
    """``value`` as an inline code span (monospace, nothing inside it interpreted): the fence
    is longer than any run of backticks in the value."""
    shown = visible(value, limit)
    longest = max((len(run) for run in re.findall("`+", shown)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if shown.startswith("`") or shown.endswith("`") or not shown.strip() else ""
    return f"{fence}{pad}{shown}{pad}{fence}"


def plain(markdown: str) -> str:
    """Markdown built with these helpers back to plain text (for tickets): escapes, code fences
    and bold markers removed."""
    return _MARKS.sub(_unmark, markdown.replace(WORD_JOINER, ""))


_MARKS = re.compile(r"(`+) ?(.*?) ?\1|\\(.)|\*\*")


def _unmark(match: re.Match) -> str:
    if match.group(1):
        return match.group(2)
    return match.group(3) or ""
