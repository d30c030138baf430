"""The only dashboard module that runs SQL: named blocks of ``sql/dashboard.sql``, run as the
read-only role, with bounded results and short-lived caches.

Caches are short on purpose: an analyst who reruns a page (selecting a row, switching a tab)
should not wait for the same query twice, but must never look at minutes-old data.
"""
from __future__ import annotations

import io
import uuid
from datetime import datetime, timedelta

import pandas as pd
import sqlalchemy as sa
import streamlit as st

import sql

from . import auth, connection, tables
from .filters import HistoryFilter
from .shaping import Page, decode_cursor, encode_cursor
PAGE_SIZE = 50
#: Largest CSV export of Callback history.
EXPORT_LIMIT = 50_000
#: Most groups the Callback sender lists at once.
SENDER_LIMIT = 500
#: Most callbacks / attempts the investigator reads for one bet.
GROUP_LIMIT = 1_000


@st.cache_resource(show_spinner=False)
def _engine(url: str) -> sa.Engine:
    engine = connection.make_engine(url)
    connection.check(engine)
    return engine


def engine() -> sa.Engine:
    """The read-only engine (raises DashboardUnavailable with a fix when it cannot read)."""
    return _engine(connection.dashboard_url())


def _q(name: str) -> sa.TextClause:
    return sa.text(sql.queries("dashboard.sql")[name])


def _rows(name: str, params: dict | None = None) -> list[dict]:
    with engine().connect() as conn:
        result = conn.execute(_q(name), params or {})
        return [{k: (str(v) if isinstance(v, uuid.UUID) else v) for k, v in r._mapping.items()}
                for r in result]


# --- brands ---------------------------------------------------------------------------------

@auth.cached(ttl=60)
def brands() -> list[dict]:
    """Every brand with its delivery settings (never its signing secret)."""
    return _rows("brands")


# --- bets -----------------------------------------------------------------------------------

def fetch_bets(brand_id: int | None, created_from: datetime, created_to: datetime,
         bet_id: str | None, player_id: str | None, statuses: tuple[str, ...],
         cursor: str | None, limit: int = PAGE_SIZE) -> Page:
    """One page of bets, newest first."""
    after = decode_cursor(cursor, 2)
    rows = _rows("bets", dict(
        brand_id=brand_id, created_from=created_from, created_to=created_to, bet_id=bet_id,
        player_id=player_id, statuses=list(statuses),
        after_created=after[0] if after else None, after_key=after[1] if after else None,
        limit=limit + 1))
    return _page(rows, limit, lambda r: [r["created_at"], r["bet_id"]])


#: :func:`fetch_bets`, cached for 10 s.
bets = auth.cached(ttl=10)(fetch_bets)


def _page(rows: list[dict], limit: int, key) -> Page:
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(rows, encode_cursor(key(rows[-1])) if more and rows else None)


# --- callback sender ------------------------------------------------------------------------

def fetch_sender(brand_id: int | None, group_ids: tuple[str, ...],
           limit: int = SENDER_LIMIT) -> tuple[dict, list[dict]]:
    """Queue figures and one row per group with undelivered callbacks, next due first."""
    summary = _rows("sender_summary", {"brand_id": brand_id})[0]
    groups = _rows("sender_groups", dict(brand_id=brand_id, group_ids=list(group_ids),
                                         limit=limit))
    return summary, groups


#: :func:`fetch_sender`, cached for 2 s.
sender = auth.cached(ttl=2)(fetch_sender)


# --- callback history -----------------------------------------------------------------------

def fetch_history(filters: HistoryFilter, cursor: str | None, limit: int = PAGE_SIZE) -> Page:
    """One page of attempts matching the filters."""
    after = decode_cursor(cursor, 3)
    rows = _rows("history", dict(
        filters.params(), limit=limit + 1,
        after_created=after[0] if after else None, after_started=after[1] if after else None,
        after_id=after[2] if after else None))
    return _page(rows, limit,
                 lambda r: [r["callback_created_at"], r["started_at"], r["request_id"]])


#: :func:`fetch_history`, cached for 10 s.
history = auth.cached(ttl=10)(fetch_history)


def history_csv(filters: HistoryFilter, columns: dict[str, str], zone) -> bytes:
    """Every attempt matching the filters (up to EXPORT_LIMIT) as CSV, times in ``zone``."""
    rows = _rows("history", dict(filters.params(), limit=EXPORT_LIMIT, after_created=None,
                                 after_started=None, after_id=None))
    buffer = io.StringIO()
    tables.history_export(rows, columns, zone).to_csv(buffer, index=False)
    return buffer.getvalue().encode()


# An attempt row changes once after it is written (sending → its answer, or unknown), so it
# is cached no longer than the history list it was selected from.
@auth.cached(ttl=10)
def attempt(request_id: str, brand_id: int | None) -> dict | None:
    """Everything recorded about one attempt, with the payload its callback carried."""
    try:
        uuid.UUID(request_id)
    except ValueError:
        return None
    found = _rows("attempt_detail", {"request_id": request_id, "brand_id": brand_id})
    return found[0] if found else None


# --- investigate ----------------------------------------------------------------------------

def fetch_investigation(bet_id: str, brand_id: int | None) -> dict:
    """The bet, its callbacks in order and its attempts oldest first; ``other_brand`` names the
    brand the bet belongs to when it is not the selected one."""
    params = {"bet_id": bet_id, "brand_id": brand_id, "limit": GROUP_LIMIT}
    found = _rows("investigate_bet", params)
    callbacks = _rows("investigate_callbacks", params)
    attempts = _rows("investigate_attempts", params)
    other = None
    if not found and not callbacks and brand_id is not None:
        owner = _rows("bet_brand", {"bet_id": bet_id})
        other = owner[0]["name"] if owner else None
    return {"bet": found[0] if found else None, "callbacks": callbacks, "attempts": attempts,
            "other_brand": other}


#: :func:`fetch_investigation`, cached for 5 s.
investigation = auth.cached(ttl=5)(fetch_investigation)


# --- breakdowns -----------------------------------------------------------------------------

@auth.cached(ttl=3600)
def latency_edges_ms() -> list[float]:
    """Upper edges of the request-duration buckets the rollup uses."""
    return list(_rows("latency_edges")[0]["edges"])


def fetch_breakdown(brand_id: int | None, window_from: datetime, window_to: datetime,
                    bucket: timedelta, bucket_origin: datetime, include_tests: bool, *,
                    use_rollup: bool = True) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Attempt counts and latency buckets per time bucket, from the hourly rollup where it is
    complete (buckets of an hour or more) and from the attempts themselves for the rest."""
    rolled = _rows("rollup_state") if use_rollup else []
    rollup_to = window_from
    if bucket >= timedelta(hours=1) and rolled:
        # Rollup rows are whole hours: a window that uses them starts and ends on the hour.
        window_from = window_from.replace(minute=0, second=0, microsecond=0)
        rollup_to = min(max(rolled[0]["rolled_up_to"], window_from),
                        window_to.replace(minute=0, second=0, microsecond=0))
    params = dict(brand_id=brand_id, window_from=window_from, window_to=window_to,
                  rollup_to=rollup_to, bucket=bucket, bucket_origin=bucket_origin,
                  include_tests=include_tests)
    counts = pd.DataFrame(_rows("breakdown_counts", params), columns=[
        "bucket", "brand", "destination", "response_status", "outcome", "error_class",
        "error_code", "attempts", "first_attempts", "retries", "duration_ms_sum"])
    latency = pd.DataFrame(_rows("breakdown_latency", params),
                           columns=["bucket", "destination", "latency_bucket", "attempts"])
    return counts, latency


#: :func:`fetch_breakdown`, cached for 30 s.
breakdown = auth.cached(ttl=30)(fetch_breakdown)
