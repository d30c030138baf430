"""What a notification says (pure): a Slack-compatible ``text`` plus structured fields, so an
incoming webhook shows a readable line and any other receiver can route on the fields."""
from __future__ import annotations

from datetime import datetime

from .rules import Reading

FIRING, RESOLVED, FLAPPING = "firing", "resolved", "flapping"

_TITLES = {"failure_rate": "failure rate", "oldest_pending": "oldest pending",
           "exhausted": "exhausted callbacks", "money_at_risk": "money at risk",
           "heartbeat_failure_rate": "heartbeat failure rate"}


def title(kind: str) -> str:
    return _TITLES.get(kind, kind)


def text(status: str, brand: str, reading: Reading) -> str:
    """The one line a chat shows: ``[FIRING] acme — failure rate: ...`` (or ``[FLAPPING]``,
    ``[RESOLVED]``)."""
    mark = status.upper()
    return f"[{mark}] Callback Desk · brand {brand} · {title(reading.kind)}: {reading.message}"


def body(*, event_id: int, status: str, brand: str, reading: Reading, at: datetime) -> dict:
    """The JSON posted to every alert URL."""
    return {"text": text(status, brand, reading), "status": status, "brand": brand,
            "rule": reading.kind, "value": reading.value, "threshold": reading.threshold,
            "message": reading.message, "details": reading.details, "event_id": event_id,
            "at": at.isoformat()}
