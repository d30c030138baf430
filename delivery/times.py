"""Times given on the command line: an ISO 8601 instant or an age back from now (pure)."""
from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from .errors import InvalidInput

_RELATIVE = re.compile(r"^(\d+)\s*([smhdw])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_time(text: str, option: str, now: datetime | None = None, *,
               future: bool = True) -> datetime:
    """``option``'s value: an ISO 8601 time (UTC unless it has an offset) or an age such as
    ``30m``, ``2h``, ``7d``, ``2w`` before ``now``; in UTC. ``future=False`` refuses a time
    after ``now``. InvalidInput names the option and the value."""
    now = now or datetime.now(UTC)
    value = text.strip()
    field = option.lstrip("-").replace("-", "_")
    relative = _RELATIVE.match(value)
    if relative:
        return now - timedelta(**{_UNITS[relative.group(2)]: int(relative.group(1))})
    try:
        at = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(f"{option} {text!r} is not a time: give an ISO 8601 time "
                           "(2026-11-29T08:00, UTC unless it has an offset) or an age (30m, 2h, "
                           "1d)", field=field, value=text) from None
    at = at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
    if not future and at > now:
        raise InvalidInput(f"{option} {text!r} is in the future", field=field, value=text)
    return at
