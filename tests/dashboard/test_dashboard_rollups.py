"""The Breakdowns rollups (migration 006) on attempts written before their request goes out:
an hour is rolled up only once none of its attempts is still sending, and attempts without a
measured duration (sending, unknown) never break the sums or reach the latency buckets."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

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
