"""Text from data or the URL put into Markdown reads as the characters it holds (pure)."""
from __future__ import annotations

import re

import pytest

from dashboard import markup

#: Values a platform, a producer or a crafted link could bring.
CORPUS = [
    "[click](https://evil.example/phish)",
    "![img](https://evil.example/pixel.png)",
    "[x](javascript:alert(1))",
    "<a href='https://evil.example'>a</a><img src=x onerror=alert(1)>",
    "<script>alert(1)</script>",
    "`code` ``two`` ```three```",
    "**bold** _em_ ~~gone~~ # heading",
    ":red[red] :material/home: $x^2$",
    "https://evil.example/bare www.evil.example",
    "line one\nline two\r\n- item\n1. item",
    "bidi \u202egnp.exe\u202c zero\u200bwidth \ufeff",
    "nul\x00byte",
]

_UNESCAPED = re.compile(r"(?<!\\)[\[\]()<>`*_~:$!#|]")


@pytest.mark.parametrize("value", CORPUS)
def test_text_escapes_every_markdown_character(value):
    escaped = markup.text(value)
    assert not _UNESCAPED.search(escaped), escaped
    assert "\n" not in escaped and "\x00" not in escaped


@pytest.mark.parametrize("value", CORPUS)
def test_code_span_fence_is_longer_than_any_backtick_run(value):
    span = markup.code(value)
    fence = re.match("`+", span).group()
    inner = span[len(fence):-len(fence)]
    assert span.endswith(fence)
    assert all(len(run) < len(fence) for run in re.findall("`+", inner))
    assert "\n" not in span


def test_invisible_characters_are_named_and_long_values_cut():
    assert markup.visible("a\u202eb\u200bc") == "a<U+202E>b<U+200B>c"
    long = "x" * 100_000
    assert len(markup.visible(long)) == markup.INLINE_LIMIT
    assert markup.visible(long).endswith("…")
    assert markup.visible(long, limit=None) == long


@pytest.mark.parametrize("value", ["plain", "a_b*c", "[x](y)", "`tick`", "a\\b"])
def test_plain_reads_back_what_was_escaped(value):
    assert markup.plain(markup.text(value)) == value
    assert markup.plain(markup.code(value)) == value
    assert markup.plain(f"**{markup.text(value)}** in {markup.code(value)}") == \
        f"{value} in {value}"


@pytest.mark.parametrize("value", ["https://evil.example/x", "HTTP://evil.example",
                                   "see www.evil.example", "mail ann@evil.example"])
def test_text_breaks_what_markdown_would_link_even_escaped(value):
    escaped = markup.text(value)
    unescaped = re.sub(r"\\(.)", r"\1", escaped)  # the text the renderer links from
    assert not re.search(r"(?i)https?://|www\.|\w@\w", unescaped)
    assert markup.plain(escaped) == value
