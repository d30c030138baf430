"""``callbacks seed-history``: fill a database with synthetic history, fast.

Rows are generated in a second process (:mod:`demo.synthetic`) while this one streams
them into PostgreSQL with COPY, a chunk per transaction, so the two CPUs work at once. For
demos and benchmarks only: the rows look real, and open ones will be sent by running workers.
"""
from __future__ import annotations

import io
import math
import multiprocessing
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa

from delivery import brands, store

from .synthetic import BrandProfile, HistoryWriter, default_profiles

#: Brands created when none is named.
DEFAULT_BRANDS = ("northbet", "sunplay", "riverstake")
#: Where created brands point: the sandbox platform's default address.
DEFAULT_BASE_URL = "http://127.0.0.1:8090"
#: Most callbacks one synthetic bet can get (place, accept, settle, unsettle, settle, decline).
_MAX_CALLBACKS_PER_BET = 6

_COPY = {
    "bets": "COPY bets (bet_id, brand_id, player_id, bet_type, stake, odds, system_sizes, "
            "status, restrictions, placed_at, created_at, updated_at) FROM STDIN",
    "callbacks": "COPY callbacks (id, request_id, brand_id, bet_id, destination, payload, "
                 "foreign_params, origin, state, attempts, next_attempt_at, last_status, "
                 "last_error, created_at, finished_at) FROM STDIN",
    "attempts": "COPY attempts (id, callback_id, group_id, brand_id, destination, origin, "
                "attempt_no, callback_created_at, scheduled_at, started_at, finished_at, "
                "duration_ms, request_headers, response_status, response_headers, "
                "response_body, response_truncated, outcome, error_class, error_detail, "
                "error_code, next_attempt_at) FROM STDIN",
}


@dataclass
class SeedReport:
    bets: int = 0
    callbacks: int = 0
    attempts: int = 0
    load_s: float = 0.0
    rollup_s: float = 0.0

    @property
    def attempts_per_s(self) -> float:
        return self.attempts / self.load_s if self.load_s else 0.0


def seed_history(engine: sa.Engine, attempts: int, *, brand: str | None = None,
                 days: float = 30.0, seed: int = 1, progress=None) -> SeedReport:
    """Write about ``attempts`` attempts (with their bets and callbacks) spread over the last
    ``days`` days; then refresh the Breakdowns rollups for that span."""
    if attempts <= 0 or days <= 0:
        raise ValueError("--attempts and --days must be greater than 0")
    say = progress or (lambda text: None)
    profiles = default_profiles(_brands(engine, [brand] if brand else list(DEFAULT_BRANDS)))
    now = time.time()
    start = now - days * 86400
    per_bet = _attempts_per_bet(profiles, start, now, seed)
    n_bets = max(1, math.ceil(attempts / per_bet))
    first_id = _reserve_callback_ids(engine, n_bets * _MAX_CALLBACKS_PER_BET)
    store.ensure_partitions(engine, datetime.fromtimestamp(start, UTC),
                            months=math.ceil(days / 28) + 3)
    say(f"writing ~{attempts:,} attempts for {n_bets:,} bets over {days:g} days "
        f"({', '.join(p.name for p in profiles)})")
    report = SeedReport()
    began = time.perf_counter()
    ctx = multiprocessing.get_context("fork")
    chunks = ctx.Queue(maxsize=4)
    producer = ctx.Process(target=_produce, daemon=True, args=(
        chunks, profiles, start, now, first_id, secrets.randbits(30), seed, n_bets))
    producer.start()
    raw = engine.raw_connection()
    try:
        while (chunk := chunks.get()) is not None:
            if isinstance(chunk, BaseException):
                raise chunk
            with raw.cursor() as cur:
                for table in ("bets", "callbacks", "attempts"):
                    cur.copy_expert(_COPY[table], io.StringIO(getattr(chunk, table)))
            raw.commit()
            report.bets += chunk.n_bets
            report.callbacks += chunk.n_callbacks
            report.attempts += chunk.n_attempts
            if report.bets % 100_000 < chunk.n_bets:
                rate = report.attempts / (time.perf_counter() - began)
                say(f"  {report.attempts:>12,} attempts  ({rate:,.0f}/s)")
    finally:
        raw.close()
        producer.join(timeout=5)
        if producer.is_alive():
            producer.terminate()
    report.load_s = time.perf_counter() - began
    began = time.perf_counter()
    refresh_rollups(engine, since=datetime.fromtimestamp(start, UTC))
    report.rollup_s = time.perf_counter() - began
    return report


def refresh_rollups(engine: sa.Engine, since: datetime | None = None) -> int:
    """Bring the Breakdowns rollups up to date; with ``since``, recompute from then on (rows
    were written into hours already rolled up)."""
    with engine.begin() as conn:
        conn.execute(sa.text("ANALYZE attempts"))
        if since is not None:
            conn.execute(sa.text(
                "SELECT rebuild_attempt_rollups(:since, "
                "COALESCE((SELECT rolled_up_to FROM attempt_rollup_state), :since))"),
                {"since": since})
        return conn.execute(sa.text("SELECT refresh_attempt_rollups()")).scalar_one()


def _produce(out, profiles, start, now, first_id, salt, seed, n_bets) -> None:
    try:
        writer = HistoryWriter(profiles, start=start, now=now, first_callback_id=first_id,
                               salt=salt, seed=seed)
        for chunk in writer.chunks(writer.bet_times(n_bets)):
            out.put(chunk)
        out.put(None)
    except BaseException as exc:  # reported in the loading process
        out.put(RuntimeError(f"generating synthetic history failed: {exc!r}"))


def _brands(engine: sa.Engine, names: list[str]) -> list[tuple[int, str]]:
    """``(id, name)`` of each brand, creating missing ones (existing settings are kept)."""
    known = {b.name: b for b in brands.all_brands(engine)}
    found = []
    for name in names:
        brand = known.get(name) or brands.add_brand(engine, name, DEFAULT_BASE_URL)
        found.append((brand.id, brand.name))
    return found


def _attempts_per_bet(profiles: list[BrandProfile], start: float, now: float,
                      seed: int) -> float:
    """How many attempts a synthetic bet makes on average, measured on a small sample."""
    sample = HistoryWriter(profiles, start=start, now=now, first_callback_id=1, salt=0,
                           seed=seed + 7919)
    bets = attempts = 0
    for chunk in sample.chunks(sample.bet_times(3000), size=3000):
        bets += chunk.n_bets
        attempts += chunk.n_attempts
    return max(attempts / max(bets, 1), 0.1)


def _reserve_callback_ids(engine: sa.Engine, count: int) -> int:
    """The first of ``count`` consecutive callback ids no one else will be given."""
    with engine.begin() as conn:
        # ALTER SEQUENCE blocks other nextval calls until commit, so the block is ours alone.
        conn.execute(sa.text(f"ALTER SEQUENCE callbacks_id_seq INCREMENT BY {int(count)}"))
        last = conn.execute(sa.text("SELECT nextval('callbacks_id_seq')")).scalar_one()
        if last < count:  # a sequence never used hands out its start value first
            conn.execute(sa.text("SELECT setval('callbacks_id_seq', :v)"),
                         {"v": last + count - 1})
            last += count - 1
        conn.execute(sa.text("ALTER SEQUENCE callbacks_id_seq INCREMENT BY 1"))
    return last - count + 1

