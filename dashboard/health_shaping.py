"""The Health page's tables and series, from the health figures and the breakdown frame (pure).

Nothing here touches Streamlit or the database, so each rule is tested with plain values.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pandas as pd

from delivery.records import AttemptOutcome
from health.figures import BrandNow
from health.money import plain_amount, shown_amount
from health.state import DEGRADED, DOWN, HEALTHY, RECENT_WINDOW_S, duration

#: Periods the page compares with the one before, as they appear in its URL (``?period=7d``).
PERIODS = {"24h": timedelta(hours=24), "7d": timedelta(days=7)}
PERIOD_LABELS = {"24h": "24 h", "7d": "7 days"}
DEFAULT_PERIOD = "24h"
CURRENT, PREVIOUS = "this period", "previous period"

#: How each state reads in a table (the mark makes it readable without colour too).
STATE_LABELS = {DOWN: "🔴 down", DEGRADED: "🟠 degraded", HEALTHY: "🟢 healthy"}
_STATE_ORDER = {DOWN: 0, DEGRADED: 1, HEALTHY: 2}
_FAILED = (AttemptOutcome.FAILED, AttemptOutcome.EXHAUSTED, AttemptOutcome.UNKNOWN)


@dataclass(frozen=True)
class Period:
    """``[start, split)`` is the previous period, ``[split, end)`` this one; charts bin by
    ``bucket`` from ``split``."""

    key: str
    start: datetime
    split: datetime
    end: datetime
    bucket: timedelta

    @property
    def span(self) -> timedelta:
        """The period's length (this one ends with the hour under way)."""
        return self.split - self.start


def period(key: str | None, now: datetime) -> Period:
    """The period for a URL value (unknown → 24 h), ending now. Bounds fall on whole buckets so
    the hourly rollups serve them."""
    key = key if key in PERIODS else DEFAULT_PERIOD
    span = PERIODS[key]
    bucket = timedelta(hours=1) if span <= timedelta(days=1) else timedelta(hours=6)
    now = now.astimezone(UTC)
    hour = now.replace(minute=0, second=0, microsecond=0)
    split = hour + timedelta(hours=1) - span
    return Period(key, split - span, split, now + timedelta(minutes=1), bucket)


def order_brands(brands: list[BrandNow]) -> list[BrandNow]:
    """Worst first: down, degraded, healthy; then by money at risk, then by name."""
    return sorted(brands, key=lambda b: (_STATE_ORDER[b.verdict.state],
                                         -float(b.money.largest().total) if not b.money.empty
                                         else 0.0, b.brand))


def now_table(brands: list[BrandNow]) -> pd.DataFrame:
    """One row per brand: its state now and what it rests on."""
    minutes = RECENT_WINDOW_S // 60
    rows = []
    for b in order_brands(brands):
        verdict = b.verdict
        rate = b.recent.failure_rate
        rows.append({
            "State": STATE_LABELS[verdict.state], "Brand": b.brand, "Why": verdict.reason,
            "Backlog": b.backlog, "Oldest pending": duration(b.oldest_pending_age_s)
            if b.oldest_pending_age_s is not None else "—",
            f"Failed ({minutes} min)": "—" if rate is None else
            f"{rate:.0%} of {b.recent.finished:,}",
            "Exhausted (1 h)": b.recent.exhausted,
            "Money at risk": b.money.label(),
        })
    return pd.DataFrame(rows, columns=["State", "Brand", "Why", "Backlog", "Oldest pending",
                                       f"Failed ({minutes} min)", "Exhausted (1 h)",
                                       "Money at risk"])


def money_table(brands: list[BrandNow], *, exact: bool = False) -> pd.DataFrame:
    """One row per brand and currency with money at risk: amounts as text in the currency's
    minor units, or with ``exact`` (exports) every digit kept."""
    rows = []
    for b in order_brands(brands):
        for r in b.money.currencies():
            def text(amount, currency=r.currency):
                return plain_amount(amount) if exact else shown_amount(amount, currency)
            rows.append({"Brand": b.brand, "Currency": r.currency or "(none)",
                         "Held": text(r.held), "Owed": text(r.owed), "Total": text(r.total),
                         "Exhausted": text(r.exhausted), "Callbacks": r.callbacks,
                         "held": float(r.held), "owed": float(r.owed)})
    return pd.DataFrame(rows, columns=["Brand", "Currency", "Held", "Owed", "Total",
                                       "Exhausted", "Callbacks", "held", "owed"])


def money_chart_data(money: pd.DataFrame) -> pd.DataFrame:
    """Bars of money at risk: one per brand and currency (never one axis per brand across
    currencies), split into held and owed."""
    if money.empty:
        return pd.DataFrame(columns=["label", "kind", "amount", "currency", "shown"])
    data = money.assign(label=money["Brand"] + " · " + money["Currency"])
    data = data.melt(id_vars=["label", "Currency"], value_vars=["held", "owed"],
                     var_name="kind", value_name="amount")
    data["kind"] = data["kind"].map({"held": "stakes possibly held",
                                     "owed": "owed to players"})
    data = data[data["amount"] > 0].rename(columns={"Currency": "currency"})
    data["shown"] = [f"{shown_amount(Decimal(str(a)), c)} {c}" for a, c in
                     zip(data["amount"], data["currency"], strict=True)]
    return data.reset_index(drop=True)


def _period_of(frame: pd.DataFrame, split: datetime) -> pd.Series:
    buckets = pd.to_datetime(frame["bucket"], utc=True)
    return pd.Series([CURRENT if b >= split else PREVIOUS for b in buckets], index=frame.index)


def compare(frame: pd.DataFrame, p: Period) -> pd.DataFrame:
    """Per brand, this period against the previous one: attempts, failure rate, first-attempt
    success, exhaustions (from the breakdown frame's rows)."""
    columns = ["Brand", "Attempts", "Failure rate", "Previous failure rate", "Change",
               "First-attempt success", "Previous first-attempt success", "Exhausted",
               "Previous exhausted"]
    if frame.empty:
        return pd.DataFrame(columns=columns)
    data = frame.assign(period=_period_of(frame, p.split))
    rows = []
    for brand, part in data.groupby("brand"):
        figures = {name: _figures(part[part["period"] == name]) for name in (CURRENT, PREVIOUS)}
        now, before = figures[CURRENT], figures[PREVIOUS]
        change = (None if now["failure_rate"] is None or before["failure_rate"] is None
                  else now["failure_rate"] - before["failure_rate"])
        rows.append({"Brand": brand, "Attempts": now["attempts"],
                     "Failure rate": now["failure_rate"],
                     "Previous failure rate": before["failure_rate"], "Change": change,
                     "First-attempt success": now["first_success"],
                     "Previous first-attempt success": before["first_success"],
                     "Exhausted": now["exhausted"], "Previous exhausted": before["exhausted"]})
    return pd.DataFrame(rows, columns=columns)


def _figures(part: pd.DataFrame) -> dict:
    finished = part[part["outcome"] != AttemptOutcome.SENDING]
    total = int(finished["attempts"].sum())
    failed = int(finished.loc[finished["outcome"].isin(_FAILED), "attempts"].sum())
    first = int(finished["first_attempts"].sum())
    delivered = finished["outcome"] == AttemptOutcome.DELIVERED
    first_ok = int(finished.loc[delivered, "first_attempts"].sum())
    return {"attempts": int(part["attempts"].sum()),
            "failure_rate": failed / total if total else None,
            "first_success": first_ok / first if first else None,
            "exhausted": int(part.loc[part["outcome"] == AttemptOutcome.EXHAUSTED,
                                       "attempts"].sum())}


def rate_series(frame: pd.DataFrame, p: Period, zone) -> pd.DataFrame:
    """Failure rate and first-attempt success per bucket and brand, for both periods; the
    previous period is moved forward by one period so the two lines overlay."""
    columns = ["time", "brand", "period", "failure_rate", "first_success", "attempts"]
    if frame.empty:
        return pd.DataFrame(columns=columns)
    data = frame.assign(period=_period_of(frame, p.split),
                        at=pd.to_datetime(frame["bucket"], utc=True))
    rows = []
    for (at, brand, name), part in data.groupby(["at", "brand", "period"]):
        figures = _figures(part)
        shown = at + (p.span if name == PREVIOUS else timedelta(0))
        rows.append({"time": shown.tz_convert(zone).tz_localize(None), "brand": brand,
                     "period": name, "failure_rate": figures["failure_rate"],
                     "first_success": figures["first_success"],
                     "attempts": figures["attempts"]})
    return pd.DataFrame(rows, columns=columns)


def exhaustions(frame: pd.DataFrame, p: Period, zone) -> pd.DataFrame:
    """Exhausted callbacks per bucket and brand in this period."""
    if frame.empty:
        return pd.DataFrame(columns=["time", "brand", "exhausted"])
    data = frame[(frame["outcome"] == AttemptOutcome.EXHAUSTED)
                 & (pd.to_datetime(frame["bucket"], utc=True) >= p.split)]
    data = data.groupby(["time", "brand"], as_index=False)["attempts"].sum()
    return data.rename(columns={"attempts": "exhausted"})


def export(now: pd.DataFrame, compared: pd.DataFrame) -> pd.DataFrame:
    """The brand table as exported: now and the period's figures, one row per brand."""
    if now.empty:
        return now
    return now.merge(compared, on="Brand", how="left")


def events_table(events: list[dict], zone) -> pd.DataFrame:
    """Alert history rows as shown: newest first; a flapping rule's events say so (its
    notifications paused until it settles)."""
    from .shaping import format_time

    rows = [{"At": format_time(e["at"], zone), "Brand": e["brand"],
             "Status": ("🔔 firing" if e["status"] == "firing" else "✅ resolved")
             + (" · flapping" if e.get("flapping") else ""),
             "Rule": e["kind"].replace("_", " "), "Value": e["value"],
             "Threshold": e["threshold"], "What": e["message"],
             "Notifications": _notifications(e)} for e in events]
    return pd.DataFrame(rows, columns=["At", "Brand", "Status", "Rule", "Value", "Threshold",
                                       "What", "Notifications"])


def _notifications(event: dict) -> str:
    total = int(event["notifications"] or 0)
    if not event.get("notified", True):
        return "not sent: flapping"
    if not total:
        return "no alert URL"
    parts = [f"{event['delivered']}/{total} delivered"]
    if event["sending"]:
        parts.append(f"{event['sending']} retrying")
    if event["failed"]:
        parts.append(f"{event['failed']} gave up")
    text = ", ".join(parts) + f" ({event['attempts']} attempt(s))"
    if event.get("last_error") and event["delivered"] < total:
        text += f" — last error: {event['last_error']}"
    return text


# --- player sessions ---------------------------------------------------------------------

SESSION_COLUMNS = ["Brand", "Live now", "Failing now", "Heartbeats", "Success rate",
                   "Ended by platform"]
_BEAT_COUNTS = ("delivered", "ended", "failed")


def beat_frame(counts: pd.DataFrame, zone) -> pd.DataFrame:
    """Heartbeat counts per bucket and brand (``bucket, brand, delivered, ended, failed``) with
    ``time``, the bucket's wall-clock time in ``zone``."""
    frame = counts.copy()
    for name in _BEAT_COUNTS:
        frame[name] = frame[name].astype("int64")
    frame["time"] = (pd.to_datetime(frame["bucket"], utc=True).dt.tz_convert(zone)
                     .dt.tz_localize(None))
    return frame


def _success(part: pd.DataFrame) -> tuple[int, float | None]:
    """Heartbeats, and the share the platform answered as the contract says: delivered, or
    refused with auth_session_unknown (which ended the session: an answer, as a supported
    error is for a bet; those are counted apart). The heartbeat alert's failure rate is the
    rest."""
    total = int(part[list(_BEAT_COUNTS)].to_numpy().sum()) if not part.empty else 0
    ok = int(part["delivered"].sum() + part["ended"].sum()) if not part.empty else 0
    return total, (ok / total if total else None)


def sessions_table(figures: list[dict], beats: pd.DataFrame) -> pd.DataFrame:
    """Per brand: live sessions now (and how many of them fail), heartbeats in the period and
    the share answered, and sessions the platform ended in it. ``figures`` are the
    ``session_figures`` rows, ``beats`` the period's :func:`beat_frame`. Brands with no session
    and no heartbeat are left out."""
    rows = []
    for f in figures:
        part = beats[beats["brand"] == f["brand"]]
        sent, rate = _success(part)
        if not (f["live"] or f["ended_by_platform"] or sent):
            continue
        rows.append({"Brand": f["brand"], "Live now": int(f["live"]),
                     "Failing now": int(f["failing"]), "Heartbeats": sent,
                     "Success rate": rate, "Ended by platform": int(f["ended_by_platform"])})
    return pd.DataFrame(rows, columns=SESSION_COLUMNS)


def session_totals(table: pd.DataFrame, beats: pd.DataFrame) -> dict:
    """The headline figures over every brand shown: live sessions, failing, heartbeats and
    the share answered, sessions ended by the platform."""
    sent, rate = _success(beats[beats["brand"].isin(table["Brand"])])
    return {"live": int(table["Live now"].sum()), "failing": int(table["Failing now"].sum()),
            "heartbeats": sent, "success_rate": rate,
            "ended": int(table["Ended by platform"].sum())}


def heartbeat_series(beats: pd.DataFrame) -> pd.DataFrame:
    """Heartbeat success rate and sessions ended by the platform per bucket and brand."""
    columns = ["time", "brand", "success_rate", "heartbeats", "ended"]
    if beats.empty:
        return pd.DataFrame(columns=columns)
    rows = []
    for (at, brand), part in beats.groupby(["time", "brand"]):
        sent, rate = _success(part)
        rows.append({"time": at, "brand": brand, "success_rate": rate, "heartbeats": sent,
                     "ended": int(part["ended"].sum())})
    return pd.DataFrame(rows, columns=columns)
