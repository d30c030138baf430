"""The one rule for every URL Callback Desk sends to: brands' base URLs, Integration Test URLs and
alert URLs. Pure.

A URL is ``http`` or ``https`` (any case) with a host (a name, an IPv4 address or a bracketed
IPv6 address) and an optional port, path and query string. A fragment is refused: it is never
sent to a server, so a ``#`` in a URL is almost always part of a password that was not
percent-encoded. Spaces and control characters are refused (percent-encode them).

Credentials (``https://user:password@host/...``) are split off: :func:`parse` returns the URL
without them and, apart, ``user:password`` (percent-decoded) to send as ``Authorization:
Basic``. What the URL without credentials is stored and shown; the credentials are stored
where no back-office role can read them (brands only; test and alert URLs refuse them).

A query string is kept and sent after the destination path (:func:`join`):
``https://host/cb?k=v`` + ``/bet/place`` is ``https://host/cb/bet/place?k=v``.
"""
from __future__ import annotations

import base64
from dataclasses import dataclass, field
from functools import lru_cache
from urllib.parse import unquote, urlsplit

from .errors import InvalidInput

SCHEMES = ("http", "https")
#: What stands for a password (or a lone user name, often a token) wherever a URL is shown.
MASK = "***"


@dataclass(frozen=True)
class PlatformUrl:
    """A URL that passed the rule: ``url`` has no credentials; ``credentials`` is
    ``user:password`` as sent in ``Authorization: Basic`` (None when the URL had none)."""

    url: str
    credentials: str | None = field(default=None, repr=False)

    @property
    def authorization(self) -> str | None:
        """The ``Authorization`` header value for the credentials, if any."""
        return basic_authorization(self.credentials)


def parse(value: str, *, what: str = "URL", field_name: str = "url") -> PlatformUrl:
    """``value`` checked against the rule, without its credentials; :class:`InvalidInput`
    naming the value (password masked) and what to do when it breaks the rule."""
    text = (value or "").strip()
    shown = redact(text)

    def refuse(problem: str) -> InvalidInput:
        return InvalidInput(f"{what} {shown!r} {problem}", field=field_name, value=shown)

    if not text:
        raise InvalidInput(f"{what} is empty; give one such as https://platform.example/callbacks",
                           field=field_name, value="")
    if any(c.isspace() or ord(c) < 0x20 or ord(c) == 0x7F for c in text):
        raise refuse("holds a space or a control character; percent-encode it (a space is %20)")
    scheme, sep, _ = text.partition("://")
    if not sep or scheme.lower() not in SCHEMES:
        raise refuse("must start with http:// or https:// (e.g. https://platform.example/cb)")
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise refuse(f"cannot be read as a URL ({_plain(exc)}); percent-encode a '/', '?', "
                     "'#' or '@' in the user name or password") from None
    if parts.fragment or text.endswith("#"):
        raise refuse("has a fragment (#...), which is never sent to a server; remove it, or "
                     "percent-encode a '#' in the password as %23")
    userinfo, at, hostport = parts.netloc.rpartition("@")
    if not parts.hostname or hostport.startswith(":"):
        raise refuse("names no host; give one such as https://platform.example/cb")
    if port == 0 or hostport.endswith(":"):
        raise refuse("has an empty or zero port; give one from 1 to 65535, or none")
    credentials = _credentials(userinfo, refuse) if at else None
    host = hostport.lower()
    clean = f"{parts.scheme.lower()}://{host}{parts.path}"
    if parts.query:
        clean += f"?{parts.query}"
    return PlatformUrl(clean, credentials)


def _credentials(userinfo: str, refuse) -> str | None:
    if not userinfo:
        return None
    user, _, password = userinfo.partition(":")
    user, password = unquote(user), unquote(password)
    if not user:
        raise refuse("has a password but no user name before it; give user:password@host")
    if ":" in user:
        raise refuse("has a ':' in its user name (percent-encoded), which Basic authentication "
                     "cannot carry; use another user name")
    return f"{user}:{password}"


def _plain(exc: ValueError) -> str:
    # urlsplit's messages quote the offending part, which may be a piece of the password.
    text = str(exc)
    if "Port" in text:
        return "the part after the host's ':' is not a port from 1 to 65535"
    if "IPv6" in text:
        return "an IPv6 host must be written in brackets, e.g. http://[::1]:8080/"
    return "not a URL"


def redact(value: str) -> str:
    """``value`` fit to show: a password replaced by ``***`` (a lone user name too, as it is
    often a token). Works on values that are not URLs at all."""
    text = value or ""
    start = text.find("://")
    start = start + 3 if start >= 0 else 0
    at = text.rfind("@")
    if at < start:
        return text
    userinfo = text[start:at]
    user, colon, _ = userinfo.partition(":")
    if colon:  # a password, even one holding '/', '?' or '#' (over-masking is harmless here)
        shown = f"{user}:{MASK}"
    elif any(c in userinfo for c in "/?#"):  # an '@' after the host: no user information
        return text
    else:
        shown = MASK
    return text[:start] + shown + text[at:]


def basic_authorization(credentials: str | None) -> str | None:
    """``Basic <base64(user:password)>`` (UTF-8, RFC 7617), or None without credentials."""
    if credentials is None:
        return None
    return "Basic " + base64.b64encode(credentials.encode()).decode()


@lru_cache(maxsize=4096)
def join(base_url: str, path: str) -> str:
    """The URL a destination path is sent to: the path goes after the base URL's own path and
    before its query string (``https://h/cb?k=v`` + ``/bet/place`` →
    ``https://h/cb/bet/place?k=v``)."""
    head, question, query = base_url.partition("#")[0].partition("?")
    url = head.rstrip("/") + path
    return f"{url}?{query}" if question and query else url


def parse_without_credentials(value: str, *, what: str, instead: str,
                              field_name: str = "url") -> str:
    """The rule for URLs that may not carry credentials (Integration Test and alert URLs):
    the URL, or :class:`InvalidInput` saying ``instead`` what to do."""
    target = parse(value, what=what, field_name=field_name)
    if target.credentials is not None:
        shown = redact((value or "").strip())
        raise InvalidInput(f"{what} {shown!r} carries credentials, which only a brand's own URL "
                           f"may (they are stored apart from it and sent as Authorization: "
                           f"Basic); {instead}", field=field_name, value=shown)
    return target.url
