"""The Breakdowns rollups (migration 006) on attempts written before their request goes out:
an hour is rolled up only once none of its attempts is still sending, and attempts without a
measured duration (sending, unknown) never break the sums or reach the latency buckets."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from dashboard import queries, shaping
from dashboard.filters import EPOCH
from delivery import brands


@pytest.fixture
def brand_id(clean_db):
    return brands.add_brand(clean_db, "alpha", "http://127.0.0.1:9").id


def add_attempt(engine, brand_id: int, started_at: datetime, outcome: str,
                duration_ms: float | None, status: int | None = None, attempt_no: int = 1,
                error_class: str | None = None) -> str:
    """One attempt row as the delivery engine leaves it (``sending`` has no end yet)."""
    request_id = str(uuid.uuid4())
    finished = None if duration_ms is None else started_at + timedelta(milliseconds=duration_ms)
    with engine.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO attempts (id, callback_id, group_id, brand_id, destination, origin,"
            " attempt_no, callback_created_at, started_at, finished_at, duration_ms,"
            " request_headers, response_status, outcome, error_class)"
            " VALUES (:id, 1, 'bet-1', :brand_id, '/bet/settle', 'producer', :attempt_no,"
            " :started_at, :started_at, :finished_at, :duration_ms, '{}', :status, :outcome,"
            " :error_class)"),
            dict(id=request_id, brand_id=brand_id, attempt_no=attempt_no, started_at=started_at,
                 finished_at=finished, duration_ms=duration_ms, status=status, outcome=outcome,
                 error_class=error_class))
    return request_id


def close(engine, request_id: str, outcome: str, duration_ms: float,
          status: int | None = None) -> None:
    with engine.begin() as conn:
        conn.execute(sa.text(
            "UPDATE attempts SET outcome = :outcome, response_status = :status,"
            " duration_ms = :duration_ms,"
            " finished_at = started_at + make_interval(secs => :duration_ms / 1000)"
            " WHERE id = CAST(:id AS uuid)"),
            dict(id=request_id, outcome=outcome, status=status, duration_ms=duration_ms))


def refresh(engine) -> int:
    with engine.begin() as conn:
        return conn.execute(sa.text("SELECT refresh_attempt_rollups()")).scalar_one()


def rolled_up_to(engine) -> datetime:
    with engine.connect() as conn:
        return conn.execute(sa.text("SELECT rolled_up_to FROM attempt_rollup_state")).scalar_one()


def rollup(engine) -> dict[str, tuple[int, float]]:
    """Outcome → (attempts, duration_ms_sum) over every rolled-up hour."""
    with engine.connect() as conn:
        return {r.outcome: (int(r.attempts), float(r.duration_ms_sum)) for r in conn.execute(
            sa.text("SELECT outcome, sum(attempts) AS attempts, sum(duration_ms_sum)"
                    " AS duration_ms_sum FROM attempt_rollup_hourly GROUP BY outcome"))}


def latency_attempts(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.text(
            "SELECT coalesce(sum(attempts), 0) FROM attempt_latency_hourly")).scalar_one()


def hour(at: datetime) -> datetime:
    return at.replace(minute=0, second=0, microsecond=0)


def test_an_hour_with_an_attempt_still_sending_waits_until_it_is_closed(clean_db, brand_id):
    # Given three hours ago: a delivery, an attempt closed as unknown, and one still sending
    now = datetime.now(UTC)
    three_hours_ago = hour(now) - timedelta(hours=3) + timedelta(minutes=5)
    add_attempt(clean_db, brand_id, three_hours_ago - timedelta(hours=1), "delivered", 12.0,
                204)
    add_attempt(clean_db, brand_id, three_hours_ago, "delivered", 20.0, 204)
    add_attempt(clean_db, brand_id, three_hours_ago, "unknown", 45_000.0,
                error_class="unknown")
    open_id = add_attempt(clean_db, brand_id, three_hours_ago + timedelta(minutes=1), "sending",
                          None)

    # When the rollups are refreshed
    refresh(clean_db)

    # Then the hours before it are rolled up and its own hour is not
    assert rolled_up_to(clean_db) == hour(three_hours_ago)
    assert rollup(clean_db) == {"delivered": (1, 12.0)}

    # When its answer is recorded and the rollups are refreshed again
    close(clean_db, open_id, "delivered", 30.0, 204)
    refresh(clean_db)

    # Then every hour that closed 15 minutes ago is rolled up, and unknown stands apart with no
    # duration of its own
    assert rolled_up_to(clean_db) == hour(now - timedelta(minutes=15))
    assert rollup(clean_db) == {"delivered": (3, 62.0), "unknown": (1, 0.0)}
    assert latency_attempts(clean_db) == 3


def test_rebuilding_an_hour_with_attempts_still_sending_counts_them_apart(clean_db, brand_id):
    # Given an hour with only an attempt still sending and one closed as unknown
    at = hour(datetime.now(UTC)) - timedelta(hours=2)
    add_attempt(clean_db, brand_id, at + timedelta(minutes=1), "sending", None)
    add_attempt(clean_db, brand_id, at + timedelta(minutes=2), "sending", None, attempt_no=2)
    add_attempt(clean_db, brand_id, at + timedelta(minutes=3), "unknown", 41_000.0,
                error_class="unknown")

    # When that hour is rebuilt explicitly (as `callbacks seed-history` does)
    with clean_db.begin() as conn:
        conn.execute(sa.text("SELECT rebuild_attempt_rollups(:lo, :hi)"),
                     {"lo": at, "hi": at + timedelta(hours=1)})

    # Then nothing fails on the missing durations, and neither reaches the latency buckets
    assert rollup(clean_db) == {"sending": (2, 0.0), "unknown": (1, 0.0)}
    assert latency_attempts(clean_db) == 0


def test_an_attempt_left_sending_for_over_a_day_does_not_stop_the_rollups(clean_db, brand_id):
    now = datetime.now(UTC)
    add_attempt(clean_db, brand_id, now - timedelta(days=2), "sending", None)
    add_attempt(clean_db, brand_id, now - timedelta(hours=3), "delivered", 5.0, 204)

    refresh(clean_db)

    assert rolled_up_to(clean_db) == hour(now - timedelta(minutes=15))
    assert rollup(clean_db) == {"sending": (1, 0.0), "delivered": (1, 5.0)}


def per_bucket(counts) -> dict[datetime, int]:
    totals = counts.groupby("bucket")["attempts"].sum()
    return {b.to_pydatetime().astimezone(UTC): int(n) for b, n in totals.items()}


def test_a_one_hour_window_is_drawn_in_minutes_counted_from_the_attempts(clean_db, brand_id,
                                                                         reader_env):
    # Given attempts in two minutes of the last hour (one of them a retry that failed)
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    incident = now - timedelta(minutes=12)
    for second in (5, 20, 50):
        add_attempt(clean_db, brand_id, incident + timedelta(seconds=second), "failed", 30.0,
                    503, error_class="http_status")
    add_attempt(clean_db, brand_id, incident + timedelta(minutes=1, seconds=1), "delivered",
                12.0, 204, attempt_no=2)
    add_attempt(clean_db, brand_id, now - timedelta(minutes=70), "delivered", 9.0, 204)

    # When Breakdowns reads the last hour at its automatic bar width
    window_from = now - timedelta(hours=1)
    bucket = shaping.chart_bucket(now - window_from)
    counts, latency = queries.fetch_breakdown(None, window_from, now, bucket, EPOCH, False)

    # Then each minute is a bar of its own, and the attempt before the window is left out
    assert bucket == timedelta(minutes=1)
    assert per_bucket(counts) == {incident: 3, incident + timedelta(minutes=1): 1}
    assert int(counts["retries"].sum()) == 1
    assert int(latency["attempts"].sum()) == 4


def test_bars_under_an_hour_read_the_attempts_and_hours_read_the_rollup(clean_db, brand_id,
                                                                        reader_env):
    # Given a rolled-up hour with attempts at minutes 5 and 20
    start = hour(datetime.now(UTC)) - timedelta(hours=3)
    for minute in (5, 5, 20):
        add_attempt(clean_db, brand_id, start + timedelta(minutes=minute), "delivered", 8.0, 204)
    refresh(clean_db)
    assert rolled_up_to(clean_db) > start

    # When the hour is drawn in 5-minute bars, and in hourly ones
    window = (start, start + timedelta(hours=1))
    fine, _ = queries.fetch_breakdown(None, *window, timedelta(minutes=5), EPOCH, False)
    with clean_db.begin() as conn:  # an hourly bar must come from the rollup alone
        conn.execute(sa.text("DELETE FROM attempts"))
    coarse, _ = queries.fetch_breakdown(None, *window, timedelta(hours=1), EPOCH, False)

    # Then the 5-minute bars keep the minutes apart; the hourly bar is the rollup's hour
    assert per_bucket(fine) == {start + timedelta(minutes=5): 2,
                                start + timedelta(minutes=20): 1}
    assert per_bucket(coarse) == {start: 3}
