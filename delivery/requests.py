"""Building one attempt's request, and the copies of it the history stores. No I/O.

``prepare(callback)`` fixes an attempt's id, start time, body and headers (a
:class:`~delivery.records.Sending`), so that the store can record it before
:mod:`delivery.sender` sends it; ``redact_*`` give what the history keeps of headers,
Foreign-Params and answers (see :mod:`delivery.masking`).
"""
from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

from . import masking, signing, urls
from .records import Attempt, OutgoingCallback, Sending


def build_headers(callback: OutgoingCallback, attempt_id: str, body: bytes,
                  now: datetime) -> dict[str, str]:
    """Headers for one attempt; with Basic credentials when the brand's URL has them, signed
    when the brand has a signing secret."""
    headers = {
        "Content-Type": "application/json",
        "Foreign-Params": json.dumps(callback.foreign_params, separators=(",", ":")),
        "X-Request-ID": attempt_id,
        "User-Agent": "CallbackDesk/1",
    }
    if callback.url_credentials is not None:
        headers["Authorization"] = urls.basic_authorization(callback.url_credentials)
    if callback.signing_secret:
        headers.update(signing.sign(callback.signing_secret, callback.request_id, now, body))
    return headers


def prepare(callback: OutgoingCallback) -> Sending:
    """Fix an attempt's Request ID, start time, body and headers."""
    attempt_id = str(uuid.uuid4())
    body = json.dumps(callback.payload, separators=(",", ":")).encode()
    started_at = datetime.now(UTC)
    return Sending(attempt_id, callback, started_at, body,
                   build_headers(callback, attempt_id, body, started_at))


def redact_headers(headers: dict[str, str] | None,
                   mask: masking.Mask = masking.KEYLESS) -> dict[str, str] | None:
    """Headers as stored in the history: credentials, cookies, signatures and every
    Foreign-Params value but the brand's visible ones masked (see :mod:`.masking`)."""
    return mask.headers(headers)


def redact_params(params: dict, mask: masking.Mask = masking.KEYLESS) -> dict:
    """Foreign-Params with every value but the brand's visible ones masked, at any depth."""
    return mask.params(params)


def redact_answer(attempt: Attempt) -> tuple[str | None, str | None, str | None]:
    """The answer's body, error detail and error code as stored: the session's Foreign-Params
    values masked wherever the platform echoed them, and members named like its keys (see
    :class:`.masking.Secrets`)."""
    outcome = attempt.outcome
    answer = (attempt.response_body, outcome.error_detail, outcome.error_code)
    if not any(answer):
        return answer
    callback = attempt.callback
    secrets = callback.mask.secrets(callback.foreign_params)
    return tuple(secrets.text(text) for text in answer)
