"""Pieces every page shares: the brand and time-zone scope, the time-window picker, copyable
IDs, the pager, empty states. Layout only; decisions live in ``shaping``.

Filters are widgets bound to query parameters (``bind="query-params"``): the address bar always
holds the view, so a pasted link reproduces it.
"""
from __future__ import annotations

import functools
import logging
import zoneinfo
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

import sqlalchemy as sa
import streamlit as st

from . import connection, markup, queries
from .filters import (
    CUSTOM,
    LAST_24H,
    WINDOWS,
    FilterError,
    brand_options,
    brand_param_note,
    clean_text,
    parse_group_ids,
    window_bounds,
    window_param_note,
    zone_param_note,
)
from .shaping import decode_cursor

log = logging.getLogger("callbacks.dashboard")

BROWSER_ZONE = "Browser"

#: Colour of each bet status badge.
STATUS_COLORS = {
    "NEW": "gray", "PLACED": "blue", "ACCEPTED": "blue", "SETTLED": "green",
    "UNSETTLED": "orange", "CASHED_OUT": "violet", "DECLINED": "red", "PLACE_ERROR": "red",
}


@dataclass(frozen=True)
class Scope:
    """What every query of the page is limited to, and how times are shown."""

    brand_id: int | None
    brand_name: str | None
    zone: zoneinfo.ZoneInfo | timezone
    zone_name: str
    brand: dict | None = None


def sidebar_scope() -> Scope:
    """The brand selector and the time-zone selector; returns the scope they set. A linked
    ``?brand=`` that is not one of the user's brands is said so above the page."""
    brands = queries.brands()
    names = brand_options([b["name"] for b in brands])
    # Read before the selector: it drops a value it does not offer from the URL.
    note = brand_param_note(st.query_params.get("brand"), names)
    if note:
        warn(note)
    browser = st.context.timezone or "UTC"
    zones = [BROWSER_ZONE, "UTC"] + sorted(zoneinfo.available_timezones() - {"UTC"})
    note = zone_param_note(st.query_params.get("tz"), zones, f"the browser's ({browser})")
    if note:
        warn(note)
    with st.sidebar:
        chosen = st.selectbox("Brand", names, key="brand", bind="query-params",
                              help="Every page shows this brand only.")
        picked = st.selectbox("Time zone", zones, key="tz", bind="query-params",
                              format_func=lambda z: f"Browser ({browser})"
                              if z == BROWSER_ZONE else z,
                              help="Times are stored in UTC and shown in this zone.")
    zone_name = browser if picked == BROWSER_ZONE else picked
    try:
        zone = zoneinfo.ZoneInfo(zone_name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        zone, zone_name = UTC, "UTC"
    brand = next((b for b in brands if b["name"] == chosen), None)
    scope = Scope(brand["id"] if brand else None, brand["name"] if brand else None, zone,
                  zone_name, brand)
    st.session_state["_scope"] = scope
    return scope


def scope() -> Scope:
    """The scope the sidebar set for this run (UTC and all brands before it ran)."""
    return st.session_state.get("_scope") or Scope(None, None, UTC, "UTC")


def now_minute() -> datetime:
    """Now, to the minute: windows stay equal between reruns, so cached queries are reused."""
    return datetime.now(UTC).replace(second=0, microsecond=0)


def window_picker(label: str, *, default: str = LAST_24H, key: str = "window",
                  presets: tuple[str, ...] = tuple(WINDOWS)) -> tuple[datetime, datetime]:
    """A window preset (plus two datetimes for Custom); ``[from, to)`` in UTC. A linked
    ``?<key>=`` that is not one of ``presets`` is said so, and ``default`` shown."""
    zone = scope().zone
    # Read before the selector: it drops a value it does not offer from the URL.
    note = window_param_note(st.query_params.get(key), presets, default)
    if note:
        warn(note)
    preset = st.selectbox(label, presets, index=presets.index(default), key=key,
                          bind="query-params")
    start = end = None
    if preset == CUSTOM:
        # Empty by default (a default that moved with the clock would reset the widgets); an
        # empty end means now, an empty start 24 hours before the end.
        start = st.datetime_input("From", value=None, key=f"{key}_from", bind="query-params",
                                  format="YYYY-MM-DD", step=timedelta(minutes=15),
                                  help=f"In {scope().zone_name}")
        end = st.datetime_input("To", value=None, key=f"{key}_to", bind="query-params",
                                format="YYYY-MM-DD", step=timedelta(minutes=15),
                                help="Empty: now")
        end = end.replace(tzinfo=zone) if end else None
        start = start.replace(tzinfo=zone) if start else None
        if start is None and end is not None:
            start = end - timedelta(hours=24)
    try:
        return window_bounds(preset, now_minute(), start, end)
    except FilterError as exc:
        warn(exc)
        return window_bounds(LAST_24H, now_minute())


def copyable(label: str, value: object) -> None:
    """An ID with a copy button (st.code shows one on hover)."""
    st.caption(markup.text(label, limit=None))
    st.code(str(value), language=None)


def status_badge(status: str) -> None:
    st.badge(markup.text(status), color=STATUS_COLORS.get(status, "gray"))


#: Height of a table row and of its header at the theme's 14 px base font (.streamlit/config).
ROW_PX = 31


def table_height(rows: int, max_rows: int = 20) -> int:
    """Pixels for a table showing up to ``max_rows`` rows with no blank space under them."""
    return 3 + ROW_PX * (1 + max(1, min(rows, max_rows)))


def no_data(hint: str | None = None) -> None:
    """The seed's empty state: "No data", and what it means here."""
    st.markdown("<div class='cd-empty'>No data</div>", unsafe_allow_html=True)
    if hint:
        st.caption(hint)


def current_cursor(fingerprint: object, kinds: tuple[str, ...], *,
                   param: str = "after") -> str | None:
    """The keyset cursor of the page to show; it lives in the URL. Changing the filters
    (``fingerprint``) goes back to the newest page, and so does a cursor that is not one of
    this list's (``kinds``, see :func:`~.shaping.decode_cursor`), with a word why."""
    previous = st.session_state.get(f"_fp_{param}")
    st.session_state[f"_fp_{param}"] = fingerprint
    if previous is not None and previous != fingerprint:
        st.session_state[f"_pages_{param}"] = []
        st.query_params.pop(param, None)
        return None
    cursor = st.query_params.get(param)
    if cursor and decode_cursor(cursor, kinds) is None:
        st.warning("The link's page position (after=) is damaged or out of date; showing the "
                   "newest rows.")
        st.query_params.pop(param, None)
        return None
    return cursor


def pager_buttons(current: str | None, next_cursor: str | None, *, param: str = "after") -> None:
    """The buttons under a page of rows."""
    stack_key = f"_pages_{param}"
    stack = st.session_state.setdefault(stack_key, [])

    def older():
        stack.append(current)
        st.query_params[param] = next_cursor

    def newer():
        previous = stack.pop() if stack else None
        if previous:
            st.query_params[param] = previous
        else:
            st.query_params.pop(param, None)

    def newest():
        stack.clear()
        st.query_params.pop(param, None)

    cols = st.columns([1, 1, 1, 5])
    cols[0].button("⇤ Newest", on_click=newest, disabled=current is None, key=f"{param}_newest")
    cols[1].button("‹ Newer", on_click=newer, disabled=current is None, key=f"{param}_newer")
    cols[2].button("Older ›", on_click=older, disabled=next_cursor is None,
                   key=f"{param}_older")


def warn(problem: Exception | str) -> None:
    """A short warning about something typed or linked (its text may quote the value)."""
    st.warning(markup.text(str(problem), limit=400))


def text_filter(label: str, key: str, placeholder: str, what: str) -> str | None:
    """A single-value text filter bound to the URL; a value no id can be gets a short warning
    and leaves the filter off."""
    value = st.text_input(label, key=key, bind="query-params", placeholder=placeholder)
    try:
        return clean_text(value, what)
    except FilterError as exc:
        warn(exc)
        return None


def bet_ids_filter(label: str, key: str, placeholder: str, help_text: str) -> tuple[str, ...]:
    """Exact Bet IDs typed or pasted into one line (bound to the URL), separated by spaces,
    commas or new lines; none, after a warning, when they cannot be read."""
    text = st.text_input(label, key=key, bind="query-params", placeholder=placeholder,
                         help=help_text)
    try:
        return tuple(parse_group_ids(text))
    except FilterError as exc:
        warn(exc)
        return ()


def group_ids_filter(height: int, help_text: str) -> tuple[str, ...] | None:
    """The Group ids box (bound to the URL); None, after a warning, when it cannot be read."""
    text = st.text_area("Group ids", key="group_ids", bind="query-params", height=height,
                        placeholder='Paste Bet IDs — spaces, commas or new lines; "quote ids" '
                                    "holding those",
                        help=help_text)
    try:
        return tuple(parse_group_ids(text))
    except FilterError as exc:
        warn(exc)
        return None


#: What a page shows when the database cannot be reached, the connection broke or every
#: connection is busy (one line; the reason goes to the dashboard's log).
UNAVAILABLE = ("Database unavailable: it cannot be reached right now. Try again in a moment; if "
               "it lasts, tell whoever runs Callback Desk.")
#: What a page shows when it failed otherwise (the details go to the dashboard's log).
NOT_SHOWN = ("This view could not be shown. Open the page from the sidebar for its default "
             "view; the details are in the dashboard's log.")


def guarded(render):
    """A page (or fragment) body whose failures end in a short message on the page and the
    details in the server's log — never a stack trace or SQL in the browser."""
    @functools.wraps(render)
    def run(*args, **kwargs):
        try:
            return render(*args, **kwargs)
        except (sa.exc.DBAPIError, sa.exc.TimeoutError) as exc:
            reason = connection.unavailable_reason(exc)
            if reason is None:
                log.exception("page %s failed", render.__module__)
                st.error(NOT_SHOWN)
            elif "statement timeout" in reason:
                log.warning("page %s: a query ran too long: %s", render.__module__, reason)
                st.error("The database took too long to answer. Narrow the filters or the time "
                         "window and try again.")
            else:
                log.warning("page %s: database unavailable: %s", render.__module__, reason)
                st.error(UNAVAILABLE)
        except Exception:
            log.exception("page %s failed", render.__module__)
            st.error(NOT_SHOWN)
    return run


def page_header(title: str, caption: str) -> None:
    st.title(title)
    st.caption(caption)
