"""The one query that reads every brand's health figures now (``brand_now`` in
``sql/health.sql``), shaped into :class:`BrandNow` values. Callers pass their own connection:
the back-office reads as its read-only role, the alert evaluator as the owner.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa

import contract
import sql

from . import money, state

#: The failure-rate window when a caller names none: the classification's recent window.
DEFAULT_RATE_WINDOW_S = state.RECENT_WINDOW_S
#: The exhaustion window when a caller names none.
DEFAULT_EXHAUSTED_WINDOW_S = state.RECENT_EXHAUSTED_WINDOW_S
#: The heartbeat failure-rate window when a caller names none.
DEFAULT_HEARTBEAT_WINDOW_S = state.RECENT_WINDOW_S


@dataclass(frozen=True)
class BrandNow:
    """One brand's figures now. Attempts are the bet callbacks'; heartbeats are counted
    apart (``heartbeats_*``)."""

    brand_id: int
    brand: str
    backlog: int                      # undelivered callbacks (waiting, pending, in flight)
    groups: int                       # bets with undelivered callbacks
    oldest_pending_age_s: float | None
    recent: state.Recent              # what the state classification reads
    last_answer_at: datetime | None   # latest attempt answered, in the recent window
    rate_window_s: int                # the failure-rate window asked for
    rate_finished: int
    rate_failed: int
    exhausted_window_s: int
    window_exhausted: int             # callbacks exhausted within exhausted_window_s
    money: money.MoneyAtRisk = field(default_factory=money.MoneyAtRisk)
    heartbeat_window_s: int = DEFAULT_HEARTBEAT_WINDOW_S
    heartbeats_finished: int = 0      # heartbeats answered or failed within heartbeat_window_s
    heartbeats_failed: int = 0        # of those: the ones that did not keep their session alive

    @property
    def verdict(self) -> state.Verdict:
        return state.classify(self.recent)

    @property
    def rate_failure(self) -> float | None:
        return self.rate_failed / self.rate_finished if self.rate_finished else None

    @property
    def heartbeat_failure(self) -> float | None:
        return (self.heartbeats_failed / self.heartbeats_finished if self.heartbeats_finished
                else None)


def params(*, brand_id: int | None = None, rate_windows_s: Mapping[int, int] | None = None,
           exhausted_windows_s: Mapping[int, int] | None = None,
           heartbeat_windows_s: Mapping[int, int] | None = None) -> dict:
    """The ``brand_now`` query's parameters."""
    rate_windows_s = dict(rate_windows_s or {})
    exhausted_windows_s = dict(exhausted_windows_s or {})
    heartbeat_windows_s = dict(heartbeat_windows_s or {})
    ids = sorted(set(rate_windows_s) | set(exhausted_windows_s) | set(heartbeat_windows_s))
    return {
        "brand_id": brand_id,
        "brand_ids": ids,
        "rate_windows_s": [int(rate_windows_s.get(i, DEFAULT_RATE_WINDOW_S)) for i in ids],
        "exhausted_windows_s": [int(exhausted_windows_s.get(i, DEFAULT_EXHAUSTED_WINDOW_S))
                                for i in ids],
        "heartbeat_windows_s": [int(heartbeat_windows_s.get(i, DEFAULT_HEARTBEAT_WINDOW_S))
                                for i in ids],
        "default_rate_window_s": DEFAULT_RATE_WINDOW_S,
        "default_exhausted_window_s": DEFAULT_EXHAUSTED_WINDOW_S,
        "default_heartbeat_window_s": DEFAULT_HEARTBEAT_WINDOW_S,
        "heartbeat": contract.HEARTBEAT,
        "recent_window_s": state.RECENT_WINDOW_S,
        "recent_exhausted_window_s": state.RECENT_EXHAUSTED_WINDOW_S,
        "risk_destinations": [s.destination for s in money.RISK_SOURCES],
        "risk_fields": [s.amount_field for s in money.RISK_SOURCES],
        "risk_kinds": [s.kind for s in money.RISK_SOURCES],
        "place": contract.PLACE,
    }


def read_now(conn: sa.Connection, **kwargs) -> list[BrandNow]:
    """Every brand's figures now (or one brand's: ``brand_id``); see :func:`params`.

    JIT is off for the statement: it reads a few index ranges per brand in about 100 ms at a
    million attempts, and compiling it took seconds (the planner's estimates of its lateral
    parts are far above what they read)."""
    conn.execute(sa.text("SET LOCAL jit = off"))
    rows = conn.execute(sql.query("health.sql", "brand_now"), params(**kwargs))
    return [from_row(r._mapping) for r in rows]


def from_row(row: Mapping) -> BrandNow:
    age = row["oldest_pending_age_s"]
    age = None if age is None else float(age)
    recent = state.Recent(finished=int(row["recent_finished"] or 0),
                          failed=int(row["recent_failed"] or 0),
                          retrying=int(row["retrying"] or 0), oldest_pending_age_s=age,
                          exhausted=int(row["recent_exhausted"] or 0))
    return BrandNow(
        brand_id=row["brand_id"], brand=row["brand"], backlog=int(row["backlog"] or 0),
        groups=int(row["groups"] or 0), oldest_pending_age_s=age, recent=recent,
        last_answer_at=row["last_answer_at"], rate_window_s=int(row["rate_window_s"]),
        rate_finished=int(row["rate_finished"] or 0), rate_failed=int(row["rate_failed"] or 0),
        exhausted_window_s=int(row["exhausted_window_s"]),
        window_exhausted=int(row["window_exhausted"] or 0),
        money=money.from_rows(row["money"] or []),
        heartbeat_window_s=int(row["heartbeat_window_s"]),
        heartbeats_finished=int(row["heartbeats_finished"] or 0),
        heartbeats_failed=int(row["heartbeats_failed"] or 0))
