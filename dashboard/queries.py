"""The only dashboard module that runs SQL: named blocks of ``sql/dashboard.sql``, run as the
read-only role, with bounded results and short-lived caches.

History past the retention is read from the Parquet archive (:mod:`archive.reader`, DuckDB)
when a window reaches past what PostgreSQL holds, and merged with PostgreSQL's rows; archived
rows are limited to the brands this session can see in PostgreSQL.

Caches are short on purpose: an analyst who reruns a page (selecting a row, switching a tab)
should not wait for the same query twice, but must never look at minutes-old data.
"""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import pandas as pd
import sqlalchemy as sa
import streamlit as st

import contract
import sql
from alerts import store as alert_store
from archive import history as archive_history
from archive import reader as archive_reader
from delivery import settings
from health import figures as health_figures

from . import auth, connection, tables
from .filters import BETS, HistoryFilter, traffic_params
from .shaping import Page, decode_cursor, encode_cursor, group_by_bet

PAGE_SIZE = 50
#: What the keyset cursors of the lists hold (see shaping.decode_cursor).
BETS_CURSOR = ("time", "text")
HISTORY_CURSOR = ("time", "time", "uuid")
#: Largest CSV export of Callback history.
EXPORT_LIMIT = 50_000
#: Most groups the Callback sender lists at once.
SENDER_LIMIT = 500
#: Most callbacks / attempts the investigator reads for one bet.
GROUP_LIMIT = 1_000
#: Most alert events the Health page lists.
ALERT_LIMIT = 100


@st.cache_resource(show_spinner=False)
def _engine(url: str) -> sa.Engine:
    engine = connection.make_engine(url)
    connection.check(engine)
    return engine


def engine() -> sa.Engine:
    """The read-only engine (raises DashboardUnavailable with a fix when it cannot read)."""
    return _engine(connection.dashboard_url())


def _rows(name: str, params: dict | None = None) -> list[dict]:
    with engine().connect() as conn:
        result = conn.execute(sql.query("dashboard.sql", name), params or {})
        return [{k: (str(v) if isinstance(v, uuid.UUID) else v) for k, v in r._mapping.items()}
                for r in result]


# --- brands ---------------------------------------------------------------------------------

@auth.cached(ttl=60)
def brands() -> list[dict]:
    """Every brand with its delivery settings (never its signing secret)."""
    return _rows("brands")


def visible_brands(brand_id: int | None) -> dict[int, str]:
    """``{id: name}`` of the brands a query may return: the selected one, or every brand this
    session can read in PostgreSQL."""
    readable = {b["id"]: b["name"] for b in brands()}
    if brand_id is None:
        return readable
    return {brand_id: readable[brand_id]} if brand_id in readable else {}


# --- the archive ----------------------------------------------------------------------------

@st.cache_data(ttl=10, show_spinner=False)
def archive() -> archive_reader.Archive:
    """The Parquet archive as it stands (which files, and how far back PostgreSQL reaches)."""
    with engine().connect() as conn:
        held = archive_reader.held_partitions(conn)
    return archive_reader.open_archive(settings.from_env().archive_dir, held)


def _history_key(row: dict) -> list:
    """An attempt's place in the ``history`` query's order (newest callback first), which its
    keyset cursor holds."""
    return [row["callback_created_at"], row["started_at"], row["attempt_id"]]


def _newest_first(rows: list[dict], more: list[dict], limit: int) -> list[dict]:
    """Two history lists (each in the history order) merged, the first ``limit`` rows."""
    key = lambda r: (r["callback_created_at"], r["started_at"], str(r["attempt_id"]))  # noqa: E731
    return sorted(rows + more, key=key, reverse=True)[:limit]


# --- bets -----------------------------------------------------------------------------------

def fetch_bets(brand_id: int | None, created_from: datetime, created_to: datetime,
               bet_ids: tuple[str, ...], player_id: str | None, statuses: tuple[str, ...],
               cursor: str | None, limit: int = PAGE_SIZE) -> Page:
    """One page of bets, newest first. Exact ``bet_ids`` are searched at any time, archive
    included: the window applies only without them."""
    after = decode_cursor(cursor, BETS_CURSOR)
    rows = _rows("bets", dict(
        brand_id=brand_id, created_from=created_from, created_to=created_to,
        bet_ids=list(bet_ids), player_id=player_id, statuses=list(statuses),
        after_created=after[0] if after else None, after_key=after[1] if after else None,
        limit=limit + 1))
    if bet_ids:
        rows = _with_archived_bets(rows, brand_id, bet_ids, player_id, statuses, after, limit)
    return _page(rows, limit, lambda r: [r["created_at"], r["bet_id"]])


def _with_archived_bets(rows: list[dict], brand_id: int | None, bet_ids: tuple[str, ...],
                        player_id: str | None, statuses: tuple[str, ...],
                        after: list[str] | None, limit: int) -> list[dict]:
    """``rows`` (a page of the ``bets`` query) with the archived bets of ``bet_ids`` that
    PostgreSQL no longer holds, filtered and paged alike, newest first."""
    stored = archive()
    if stored.empty:
        return rows
    held = {r["bet_id"] for r in _rows("bets_held", {"bet_ids": list(bet_ids),
                                                     "brand_id": brand_id})}
    missing = [b for b in bet_ids if b not in held]
    if not missing:
        return rows
    cut = (datetime.fromisoformat(after[0]), after[1]) if after else None
    archived = [r for r in stored.bets_named(missing, visible_brands(brand_id))
                if (player_id is None or r["player_id"] == player_id)
                and (not statuses or r["status"] in statuses)
                and (cut is None or (r["created_at"], r["bet_id"]) < cut)]
    key = lambda r: (r["created_at"], r["bet_id"])  # noqa: E731
    return sorted(rows + archived, key=key, reverse=True)[:limit + 1]


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
    """One page of attempts matching the filters, shown by bet (see shaping.group_by_bet).

    The page is read and paged newest callback first (the index's order, so PostgreSQL reads
    only the page); its rows, PostgreSQL's and the archive's merged, are then grouped by bet
    within the page."""
    after = decode_cursor(cursor, HISTORY_CURSOR)
    params = dict(filters.params(), **_cursor_params(after))
    rows = _history_rows(filters, params, limit + 1)
    page = _page(rows, limit, _history_key)
    return Page(group_by_bet(page.rows), page.next_cursor)


#: :func:`fetch_history`, cached for 10 s.
history = auth.cached(ttl=10)(fetch_history)


def history_csv(filters: HistoryFilter, columns: dict[str, str], zone) -> bytes:
    """Every attempt matching the filters (up to EXPORT_LIMIT) as CSV, times in ``zone``,
    grouped by bet as the list shows a page — the export being one chunk: the bets in order of
    their newest callback exported, each bet's attempts as they were sent."""
    rows = _history_rows(filters, dict(filters.params(), **_cursor_params(None)), EXPORT_LIMIT)
    return tables.to_csv(tables.history_export(group_by_bet(rows), columns, zone))


def _cursor_params(after: list[str] | None) -> dict:
    """The ``history`` query's cursor parameters for a decoded cursor (None: the first page)."""
    return dict(zip(("after_created", "after_started", "after_id"),
                    after if after else (None, None, None), strict=True))


def _history_rows(filters: HistoryFilter, params: dict, limit: int) -> list[dict]:
    rows = _rows("history", dict(params, limit=limit))
    stored = archive()
    if archive_reader.reaches(stored, filters.created_from):
        more = stored.history(visible_brands(filters.brand_id), params, limit)
        rows = _newest_first(rows, more, limit)
    return rows


# An attempt row changes once after it is written (sending → its answer, or unknown), so it
# is cached no longer than the history list it was selected from.
@auth.cached(ttl=10)
def attempt(attempt_id: str, brand_id: int | None) -> dict | None:
    """Everything recorded about one attempt, with the payload its callback carried."""
    try:
        uuid.UUID(attempt_id)
    except ValueError:
        return None
    found = _rows("attempt_detail", {"attempt_id": attempt_id, "brand_id": brand_id})
    if found:
        return found[0]
    archived = archive().attempt(attempt_id, visible_brands(brand_id))
    if archived is not None:
        brand = next((b for b in brands() if b["id"] == archived["brand_id"]), {})
        archived["base_url"] = brand.get("base_url", "")
    return archived


# --- investigate ----------------------------------------------------------------------------

def fetch_investigation(bet_id: str, brand_id: int | None) -> dict:
    """The bet, its callbacks in order and its attempts oldest first; ``other_brand`` names the
    brand the bet belongs to when it is not the selected one."""
    params = {"bet_id": bet_id, "brand_id": brand_id, "limit": GROUP_LIMIT,
              "heartbeat": contract.HEARTBEAT}
    found = _rows("investigate_bet", params)
    callbacks = _rows("investigate_callbacks", params)
    attempts = _rows("investigate_attempts", params)
    bet = found[0] if found else None
    stored = archive()
    archived = False
    if not stored.empty:
        visible = visible_brands(brand_id)
        merged = archive_history.bet_history(stored, bet_id, visible, callbacks, attempts,
                                             limit=GROUP_LIMIT)
        if bet is None:
            bet = stored.bet(bet_id, visible)
            if bet is not None:
                brand = next((b for b in brands() if b["id"] == bet["brand_id"]), {})
                bet["timeout_s"] = brand.get("timeout_s")
                bet["currency"] = brand.get("currency")
        archived = merged.from_archive or (bet is not None and not found)
        callbacks = merged.callbacks
        attempts = [dict(a, response_body=(a["response_body"] or "")[:2000] or None)
                    if a.get("archived") else a for a in merged.attempts]
    other = None
    if bet is None and not callbacks and brand_id is not None:
        owner = _rows("bet_brand", {"bet_id": bet_id})
        other = owner[0]["name"] if owner else None
        if other is None and not stored.empty:
            elsewhere = stored.bet(bet_id, visible_brands(None))
            other = elsewhere["brand"] if elsewhere else None
    return {"bet": bet, "callbacks": callbacks[:GROUP_LIMIT], "attempts": attempts[:GROUP_LIMIT],
            "other_brand": other, "archived": archived}


#: :func:`fetch_investigation`, cached for 5 s.
investigation = auth.cached(ttl=5)(fetch_investigation)


# --- actions (the integration manager's audit trail) ----------------------------------------

#: Most actions the Actions page lists at once.
ACTIONS_LIMIT = 500


@auth.cached(ttl=5)
def bet_actions(bet_id: str, brand_id: int | None) -> list[dict]:
    """The actions that changed a bet's callbacks, oldest first."""
    return _rows("bet_actions", {"bet_id": bet_id, "brand_id": brand_id,
                                 "limit": GROUP_LIMIT})


@auth.cached(ttl=5)
def actions(brand_id: int | None, created_from: datetime, created_to: datetime,
            kinds: tuple[str, ...] = (), limit: int = ACTIONS_LIMIT) -> list[dict]:
    """Actions taken in ``[created_from, created_to)``, newest first."""
    return _rows("actions", dict(brand_id=brand_id, created_from=created_from,
                                 created_to=created_to, kinds=list(kinds), limit=limit))


@auth.cached(ttl=5)
def config_changes(brand_id: int | None, created_from: datetime, created_to: datetime,
                   kinds: tuple[str, ...] = (), *, with_global: bool = False,
                   limit: int = ACTIONS_LIMIT) -> list[dict]:
    """Configuration changes made in ``[created_from, created_to)``, newest first: of the
    brands this session sees, and with ``with_global`` (administrators) those of no one brand
    — users, alert URLs, default rules — when it sees every brand."""
    return _rows("config_changes", dict(brand_id=brand_id, created_from=created_from,
                                        created_to=created_to, kinds=list(kinds),
                                        with_global=with_global, limit=limit))


@auth.cached(ttl=5)
def action_callbacks(action_id: int, brand_id: int | None) -> list[dict]:
    """The callbacks one action changed, with their state before, after and now."""
    return _rows("action_callbacks", {"action_id": action_id, "brand_id": brand_id,
                                      "limit": EXPORT_LIMIT})


# --- breakdowns -----------------------------------------------------------------------------

@auth.cached(ttl=3600)
def latency_edges_ms() -> list[float]:
    """Upper edges of the request-duration buckets the rollup uses."""
    return list(_rows("latency_edges")[0]["edges"])


def fetch_breakdown(brand_id: int | None, window_from: datetime, window_to: datetime,
                    bucket: timedelta, bucket_origin: datetime, include_tests: bool, *,
                    use_rollup: bool = True, traffic: str = BETS
                    ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Attempt counts and latency buckets per time bucket, from the hourly rollup where it is
    complete (buckets of an hour or more) and from the attempts themselves for the rest.
    ``traffic`` says which attempts count (:data:`~.filters.BETS`: heartbeats left out)."""
    destinations = traffic_params(traffic)
    stored = archive()
    old_counts: list[dict] = []
    old_latency: list[dict] = []
    if archive_reader.reaches(stored, window_from):
        # The months PostgreSQL no longer holds come from the archive, the rest from below.
        split = min(stored.holds_before, window_to)
        old_counts, old_latency = stored.breakdown(
            visible_brands(brand_id), window_from, split, bucket.total_seconds(),
            bucket_origin, include_tests, latency_edges_ms(), **destinations)
        window_from = split
    rolled = _rows("rollup_state") if use_rollup else []
    rollup_to = window_from
    if bucket >= timedelta(hours=1) and rolled:
        # Rollup rows are whole hours: a window that uses them starts and ends on the hour.
        window_from = window_from.replace(minute=0, second=0, microsecond=0)
        rollup_to = min(max(rolled[0]["rolled_up_to"], window_from),
                        window_to.replace(minute=0, second=0, microsecond=0))
    params = dict(brand_id=brand_id, window_from=window_from, window_to=window_to,
                  rollup_to=rollup_to, bucket=bucket, bucket_origin=bucket_origin,
                  include_tests=include_tests, **destinations)
    count_columns = ["bucket", "brand", "destination", "response_status", "outcome",
                     "error_class", "error_code", "attempts", "first_attempts", "retries",
                     "duration_ms_sum"]
    latency_columns = ["bucket", "destination", "latency_bucket", "attempts"]
    counts = pd.DataFrame(old_counts + _rows("breakdown_counts", params), columns=count_columns)
    latency = pd.DataFrame(old_latency + _rows("breakdown_latency", params),
                           columns=latency_columns)
    if old_counts:
        # A bucket that straddles the archive's edge gets its two halves added up.
        counts["bucket"] = pd.to_datetime(counts["bucket"], utc=True)
        counts = (counts.groupby(count_columns[:7], dropna=False, as_index=False, sort=True)
                  [count_columns[7:]].sum())
        latency["bucket"] = pd.to_datetime(latency["bucket"], utc=True)
        latency = (latency.groupby(latency_columns[:3], dropna=False, as_index=False, sort=True)
                   [["attempts"]].sum())
    return counts, latency


#: :func:`fetch_breakdown`, cached for 30 s.
breakdown = auth.cached(ttl=30)(fetch_breakdown)


# --- brand health and alerts ----------------------------------------------------------------

def fetch_health_now(brand_id: int | None) -> list:
    """Every brand's (or one brand's) figures now: queue, recent attempts, money at risk."""
    with engine().connect() as conn:
        return health_figures.read_now(conn, brand_id=brand_id)


#: :func:`fetch_health_now`, cached for 10 s.
health_now = auth.cached(ttl=10)(fetch_health_now)


def fetch_alerts(brand_id: int | None, limit: int = ALERT_LIMIT) -> dict:
    """Rules firing now, the latest alert events and the rule rows (brand and default)."""
    with engine().connect() as conn:
        firing = alert_store.firing_now(conn, brand_id)
        history = alert_store.history(conn, brand_id=brand_id, limit=limit)
        rule_rows = alert_store.rule_rows(conn)
    return {"firing": firing, "history": history, "rules": rule_rows}


#: :func:`fetch_alerts`, cached for 10 s.
alerts = auth.cached(ttl=10)(fetch_alerts)


# --- player sessions ------------------------------------------------------------------------

#: Most heartbeats the session view reads (about 8 hours of a 60 s interval).
SESSION_HEARTBEATS = 500
#: Most sessions one id may name (one per brand).
SESSIONS_NAMED_LIMIT = 100


@auth.cached(ttl=5)
def sessions_named(session_ids: tuple[str, ...], brand_id: int | None) -> list[dict]:
    """The player sessions with these ids (of one brand, or of every brand this session
    sees), by id then brand."""
    if not session_ids:
        return []
    return _rows("sessions_named", {"session_ids": list(session_ids), "brand_id": brand_id,
                                    "limit": SESSIONS_NAMED_LIMIT})


@auth.cached(ttl=5)
def session_heartbeats(session_id: str, brand_id: int, opened_at: datetime,
                       limit: int = SESSION_HEARTBEATS) -> list[dict]:
    """A session's heartbeat attempts since it was opened, newest first."""
    return _rows("session_heartbeats", {"session_id": session_id, "brand_id": brand_id,
                                        "opened_at": opened_at, "limit": limit,
                                        "heartbeat": contract.HEARTBEAT})


@auth.cached(ttl=10)
def session_figures(brand_id: int | None, window_from: datetime, window_to: datetime
                    ) -> list[dict]:
    """Per brand: live sessions now, those failing, sessions ended by the platform in the
    window."""
    return _rows("session_figures", {"brand_id": brand_id, "window_from": window_from,
                                     "window_to": window_to})


def fetch_heartbeat_buckets(brand_id: int | None, window_from: datetime, window_to: datetime,
                            bucket: timedelta, bucket_origin: datetime) -> pd.DataFrame:
    """Heartbeats delivered, ended and failed per time bucket and brand (from the counts per
    minute the workers keep: a few rows per brand and hour, whatever the number of
    sessions)."""
    rows = _rows("heartbeat_buckets", dict(brand_id=brand_id, window_from=window_from,
                                           window_to=window_to, bucket=bucket,
                                           bucket_origin=bucket_origin))
    return pd.DataFrame(rows, columns=["bucket", "brand", "delivered", "ended", "failed"])


#: :func:`fetch_heartbeat_buckets`, cached for 30 s.
heartbeat_buckets = auth.cached(ttl=30)(fetch_heartbeat_buckets)
