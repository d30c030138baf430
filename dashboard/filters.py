"""What an analyst types into the filters → values the queries take. Pure, so every rule is
tested with plain values; a value that cannot be understood raises :class:`FilterError` with a
message saying what to type instead.
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import contract
from delivery.records import AttemptOutcome

#: How many group ids one paste may hold.
MAX_GROUP_IDS = 500
#: Longest value a single-value text filter (a Bet ID, a player id) takes.
MAX_TEXT_CHARS = 500
#: Longest paste of group ids.
MAX_PASTE_CHARS = 64 * 1024

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
#: The Brand selector's choice of every brand the user has.
ALL_BRANDS = "All brands"
#: Longest part of a linked value quoted back in a note about it.
QUOTED_CHARS = 60
#: "Any time" starts here; nothing in the product is older.
EPOCH = datetime(2000, 1, 1, tzinfo=UTC)

_SEPARATORS = re.compile(r"[\s,;]+")
#: A pasted id: in double or single quotes (may hold spaces, commas, semicolons), or a run of
#: anything else up to the next separator.
_GROUP_ID = re.compile(r'"([^"]*)"|\'([^\']*)\'|([^\s,;]+)')
#: Characters no id holds: NUL and the other control characters (they reach the browser as
#: nothing, and the database refuses NUL).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


#: What a view of attempts counts: bet callbacks only (every view's default), player sessions'
#: heartbeats only, or both.
BETS, HEARTBEATS, ALL_TRAFFIC = "bets", "heartbeats", "all"


class FilterError(ValueError):
    """A filter value that cannot be understood; the message says what to type instead."""


# --- filters --------------------------------------------------------------------------------

def parse_group_ids(text: str | None) -> list[str]:
    """Group (Bet) ids pasted with spaces, commas, semicolons or new lines, in order, once each.

    An id holding spaces, commas or semicolons is pasted in quotes: ``"a b", 'c,d'``. Brackets
    and backticks around ids (as copied from JSON or a spreadsheet) are dropped.
    """
    text = text or ""
    if len(text) > MAX_PASTE_CHARS:
        raise FilterError(f"the pasted group ids are {len(text):,} characters long; paste at "
                          f"most {MAX_PASTE_CHARS:,} (about {MAX_GROUP_IDS} ids) at a time")
    _refuse_control(text, "group ids")
    ids: list[str] = []
    seen = set()
    for match in _GROUP_ID.finditer(text):
        quoted = match.group(1) if match.group(1) is not None else match.group(2)
        part = quoted if quoted is not None else match.group(3).strip("'\"`[]")
        if part and part not in seen:
            seen.add(part)
            ids.append(part)
    if len(ids) > MAX_GROUP_IDS:
        raise FilterError(f"{len(ids)} group ids pasted; at most {MAX_GROUP_IDS} at a time — "
                          "split the list or narrow the time window instead")
    return ids


def format_group_ids(ids: list[str] | tuple[str, ...]) -> str:
    """Group ids as the Group ids filter reads them back (:func:`parse_group_ids`): quoted
    when they hold a separator or a quote."""
    def one(group_id: str) -> str:
        if not _SEPARATORS.search(group_id) and group_id[:1] not in "\"'`[" \
                and group_id[-1:] not in "\"'`]":
            return group_id
        return f"'{group_id}'" if '"' in group_id else f'"{group_id}"'
    return "\n".join(one(i) for i in ids)


def _refuse_control(text: str, what: str) -> None:
    found = _CONTROL.search(text)
    if found:
        raise FilterError(f"there is a control character (U+{ord(found.group()):04X}) in the "
                          f"{what}; no id holds one — type or paste it again")


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


_CODE = re.compile(r"^[1-5][0-9][0-9]$")
_CLASS = re.compile(r"^([1-5])xx$")


def parse_codes(text: str | None) -> CodeFilter:
    """``"5xx, 404 none"`` → codes (404,), classes (5,), no_response.

    ``none`` (or ``-``) means attempts that got no HTTP response: timeouts and connection errors.
    """
    codes, classes, no_response = [], [], False
    if len(text or "") > MAX_TEXT_CHARS:
        raise FilterError(f"the response code filter is {len(text):,} characters long; type "
                          "a few codes like 404, classes like 5xx, or none")
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


def clean_text(value: str | None, what: str = "value") -> str | None:
    """A single-value text filter: trimmed, or None when empty.

    Raises :class:`FilterError` for a value no id can be (too long, control characters)."""
    value = (value or "").strip()
    if len(value) > MAX_TEXT_CHARS:
        raise FilterError(f"the {what} is {len(value):,} characters long; ids are at most "
                          f"{MAX_TEXT_CHARS} — paste the id alone")
    _refuse_control(value, what)
    return value or None


def traffic_params(traffic: str) -> dict:
    """The ``left_out`` / ``only`` destination lists of a query for ``traffic``: heartbeats
    (``/heartbeat``, one per player session and interval) would swamp bet figures, so views of
    bets leave them out unless asked."""
    if traffic == HEARTBEATS:
        return {"left_out": [], "only": [contract.HEARTBEAT]}
    if traffic == ALL_TRAFFIC:
        return {"left_out": [], "only": []}
    return {"left_out": [contract.HEARTBEAT], "only": []}


# --- values linked in the URL --------------------------------------------------------------

def brand_options(names: Sequence[str]) -> list[str]:
    """The Brand selector's choices: "All brands", then each brand the user has. A user of
    exactly one brand gets that brand alone (all their brands is that one)."""
    return list(names) if len(names) == 1 else [ALL_BRANDS, *names]


def brand_param_note(asked: str | None, offered: Sequence[str]) -> str | None:
    """Why a linked ``?brand=`` is not applied (None when it is, or when there is none): a
    brand the user does not have reads the same as one that does not exist."""
    if asked is None or asked in offered or asked == ALL_BRANDS:
        return None
    shown = offered[0] if offered and offered[0] != ALL_BRANDS else "all your brands"
    return f"Brand {_quoted(asked)} is not one of your brands — showing {shown}."


def window_param_note(asked: str | None, presets: Sequence[str], default: str) -> str | None:
    """Why a linked time window (``?window=``, ``?created=``) is not applied (None when it is,
    or when there is none)."""
    if asked is None or asked in presets:
        return None
    return (f"Window {_quoted(asked)} is not one of: {', '.join(presets)} — showing "
            f"{default}.")


def zone_param_note(asked: str | None, zones: Sequence[str], default: str) -> str | None:
    """Why a linked ``?tz=`` is not applied (None when it is, or when there is none)."""
    if asked is None or asked in zones:
        return None
    return (f"Time zone {_quoted(asked)} is not a time zone name such as Europe/Malta or "
            f"UTC — showing {default}.")


def _quoted(value: str) -> str:
    cut = value if len(value) <= QUOTED_CHARS else value[:QUOTED_CHARS - 1] + "…"
    return f"'{cut}'"


# --- time windows ---------------------------------------------------------------------------

def window_bounds(preset: str | None, now: datetime, custom_from: datetime | None = None,
                  custom_to: datetime | None = None) -> tuple[datetime, datetime]:
    """``[from, to)`` in UTC for a window preset; ``Custom`` uses the two given datetimes.

    ``Any time`` spans everything; an unknown preset falls back to the last 24 hours.
    """
    now = now.astimezone(UTC)
    if preset == CUSTOM:
        start = custom_from or now - timedelta(hours=24)
        end = custom_to or now
        start, end = start.astimezone(UTC), end.astimezone(UTC)
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
    #: Heartbeats are listed too (they are left out unless asked for, here or by choosing
    #: ``/heartbeat`` as a destination).
    heartbeats: bool = False

    @property
    def shows_heartbeats(self) -> bool:
        return self.heartbeats or contract.HEARTBEAT in self.destinations

    @property
    def problems_only(self) -> bool:
        """True when no delivered attempt can match: the query may then read only the
        attempts that did not deliver (a much smaller index)."""
        if self.outcomes and AttemptOutcome.DELIVERED not in self.outcomes:
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
                "hidden_destinations": [] if self.shows_heartbeats else [contract.HEARTBEAT],
                **self.codes.params()}
