"""What an analyst types into the filters → values the queries take. Pure, so every rule is
tested with plain values; a value that cannot be understood raises :class:`FilterError` with a
message saying what to type instead.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

#: How many group ids one paste may hold.
MAX_GROUP_IDS = 500

#: Time-window presets offered by every page with a window, in the order shown. The label is
#: also the value in the page's URL (``?window=Any+time``).
WINDOWS: dict[str, timedelta | None] = {
    "Last hour": timedelta(hours=1),
    "Last 24 h": timedelta(hours=24),
    "Last 7 days": timedelta(days=7),
    "Last 30 days": timedelta(days=30),
    "Any time": None,
    "Custom": None,
}
LAST_24H, ANY_TIME, CUSTOM = "Last 24 h", "Any time", "Custom"
#: "Any time" starts here; nothing in the product is older.
EPOCH = datetime(2000, 1, 1, tzinfo=timezone.utc)

_SEPARATORS = re.compile(r"[\s,;]+")


class FilterError(ValueError):
    """A filter value that cannot be understood; the message says what to type instead."""


# --- filters --------------------------------------------------------------------------------

def parse_group_ids(text: str | None) -> list[str]:
    """Group (Bet) ids pasted with spaces, commas, semicolons or new lines, in order, once each.

    Quotes around ids (as copied from a spreadsheet or JSON) are dropped.
    """
    ids: list[str] = []
    seen = set()
    for part in _SEPARATORS.split(text or ""):
        part = part.strip().strip("'\"`[]")
        if part and part not in seen:
            seen.add(part)
            ids.append(part)
    if len(ids) > MAX_GROUP_IDS:
        raise FilterError(f"{len(ids)} group ids pasted; at most {MAX_GROUP_IDS} at a time — "
                          "split the list or narrow the time window instead")
    return ids


@dataclass(frozen=True)
class CodeFilter:
    """Response codes to keep: exact codes, whole classes (4 means 4xx) and/or no response."""

    codes: tuple[int, ...] = ()
    classes: tuple[int, ...] = ()
    no_response: bool = False

    @property
    def active(self) -> bool:
        return bool(self.codes or self.classes or self.no_response)

    def params(self) -> dict:
        """The ``history`` query's parameters for this filter."""
        return {"filter_codes": self.active, "codes": list(self.codes),
                "code_classes": list(self.classes), "no_response": self.no_response}


_CODE = re.compile(r"^[1-5]\d\d$")
_CLASS = re.compile(r"^([1-5])xx$")


def parse_codes(text: str | None) -> CodeFilter:
    """``"5xx, 404 none"`` → codes (404,), classes (5,), no_response.

    ``none`` (or ``-``) means attempts that got no HTTP response: timeouts and connection errors.
    """
    codes, classes, no_response = [], [], False
    for part in _SEPARATORS.split((text or "").strip().lower()):
        if not part:
            continue
        if part in ("none", "-", "no", "timeout"):
            no_response = True
        elif _CODE.match(part):
            codes.append(int(part))
        elif m := _CLASS.match(part):
            classes.append(int(m.group(1)))
        else:
            raise FilterError(f"response code {part!r} is not understood; type codes like "
                              "404, classes like 5xx, or none for no response")
    return CodeFilter(tuple(sorted(set(codes))), tuple(sorted(set(classes))), no_response)


def clean_text(value: str | None) -> str | None:
    """A single-value text filter: trimmed, or None when empty."""
    value = (value or "").strip()
    return value or None


# --- time windows ---------------------------------------------------------------------------

def window_bounds(preset: str | None, now: datetime, custom_from: datetime | None = None,
                  custom_to: datetime | None = None) -> tuple[datetime, datetime]:
    """``[from, to)`` in UTC for a window preset; ``Custom`` uses the two given datetimes.

    ``Any time`` spans everything; an unknown preset falls back to the last 24 hours.
    """
    now = now.astimezone(timezone.utc)
    if preset == CUSTOM:
        start = custom_from or now - timedelta(hours=24)
        end = custom_to or now
        start, end = start.astimezone(timezone.utc), end.astimezone(timezone.utc)
        if end <= start:
            raise FilterError("the window ends before it starts; pick an end after the start")
        return start, end
    if preset == ANY_TIME:
        return EPOCH, now + timedelta(days=1)
    span = WINDOWS.get(preset or "") or WINDOWS[LAST_24H]
    return now - span, now + timedelta(minutes=1)


@dataclass(frozen=True)
class HistoryFilter:
    """Everything the Callback history page filters on; UTC bounds, parsed values."""

    created_from: datetime
    created_to: datetime
    brand_id: int | None = None
    group_ids: tuple[str, ...] = ()
    destinations: tuple[str, ...] = ()
    outcomes: tuple[str, ...] = ()
    error_classes: tuple[str, ...] = ()
    codes: CodeFilter = CodeFilter()

    @property
    def problems_only(self) -> bool:
        """True when no delivered attempt can match: the query may then read only the
        attempts that did not deliver (a much smaller index)."""
        if self.outcomes and "delivered" not in self.outcomes:
            return True
        if self.error_classes:
            return True  # a delivered attempt has no error class
        codes = self.codes
        return codes.active and 2 not in codes.classes and \
            not any(200 <= c < 300 for c in codes.codes)

    def params(self) -> dict:
        """Parameters of the ``history`` query (the cursor is added by the caller)."""
        return {"created_from": self.created_from, "created_to": self.created_to,
                "brand_id": self.brand_id, "group_ids": list(self.group_ids),
                "destinations": list(self.destinations), "outcomes": list(self.outcomes),
                "error_classes": list(self.error_classes), "problems_only": self.problems_only,
                **self.codes.params()}
