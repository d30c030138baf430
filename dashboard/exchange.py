"""One request and its answer, as the Integration Test page shows them: a line saying what
happened, the headers one per line as they go over the wire, and the body (JSON indented).
Pure, so the shapes are tested with plain values."""
from __future__ import annotations

import json
from dataclasses import dataclass

#: Keys of a stored response shown in its summary line rather than as headers or body.
_NOT_SUMMARISED = ("status", "headers", "body", "outcome", "duration_ms", "error_class",
                   "error_detail")


@dataclass(frozen=True)
class Message:
    """What one side of an exchange shows: ``summary`` (one line), ``headers`` (``Name: value``
    lines, empty when there were none) and ``body`` in ``language`` (``json`` or ``text``)."""

    summary: str
    headers: str
    body: str
    language: str


def request_message(request: dict) -> Message:
    """The request as sent: where to, its headers and its body."""
    body, language = _body(request.get("body"))
    return Message(f"POST {request.get('url') or '-'}", _headers(request.get("headers")),
                   body, language)


def response_message(response: dict) -> Message:
    """The answer: status, outcome, time and error, then its headers and body."""
    status = response.get("status")
    parts = [f"HTTP {status}" if status is not None else "no HTTP answer"]
    if response.get("outcome"):
        parts.append(str(response["outcome"]))
    if response.get("duration_ms") is not None:
        parts.append(f"{float(response['duration_ms']):.0f} ms")
    error = ": ".join(str(response[k]) for k in ("error_class", "error_detail")
                      if response.get(k))
    if error:
        parts.append(error)
    parts += [f"{k} {response[k]}" for k in response
              if k not in _NOT_SUMMARISED and response[k] not in (None, "")]
    body, language = _body(response.get("body"))
    return Message(" · ".join(parts), _headers(response.get("headers")), body, language)


def _headers(headers: object) -> str:
    if not isinstance(headers, dict):
        return "" if headers in (None, "") else str(headers)
    return "\n".join(f"{name}: {value}" for name, value in headers.items())


def _body(body: object) -> tuple[str, str]:
    """``(text, language)``: JSON (given as a value or as text) indented, else as it came."""
    if body is None or body == "":
        return "(empty)", "text"
    if isinstance(body, str):
        try:
            body = json.loads(body)
        except ValueError:
            return body, "text"
    return json.dumps(body, indent=2, ensure_ascii=False, default=str), "json"
