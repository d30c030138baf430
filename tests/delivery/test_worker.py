"""The worker's retry of database writes, with plain values (no database)."""
import logging

import pytest
import sqlalchemy as sa

from delivery.worker import WRITE_BACKOFF_S, with_retries


def _lost_connection():
    return sa.exc.OperationalError("UPDATE attempts ...", {}, Exception("server closed the "
                                                                        "connection"))


def test_a_write_is_tried_again_after_each_wait_until_it_works():
    calls, waits = [], []

    def write():
        calls.append(1)
        if len(calls) < 3:
            raise _lost_connection()
        return "written"

    assert with_retries(write, "recording", backoff_s=(0.1, 0.2, 0.4), sleep=waits.append) == \
        "written"
    assert waits == [0.1, 0.2]


def test_the_last_failure_is_raised_once_the_waits_run_out():
    waits = []

    def write():
        raise _lost_connection()

    with pytest.raises(sa.exc.OperationalError):
        with_retries(write, "recording", backoff_s=(0.1, 0.2), sleep=waits.append)
    assert waits == [0.1, 0.2]


def test_a_write_tries_at_least_every_second_for_about_two_minutes_and_logs_fewer_tries(
        caplog):
    # A write waiting when the database comes back goes through within a second of it
    assert max(WRITE_BACKOFF_S) == 1.0 and 100 < sum(WRITE_BACKOFF_S) < 150
    waits = []

    def write():
        if len(waits) < 9:
            raise _lost_connection()
        return "written"

    with caplog.at_level(logging.WARNING, logger="delivery.worker"):
        assert with_retries(write, "recording", sleep=waits.append) == "written"
    assert waits == list(WRITE_BACKOFF_S[:9])
    assert [r.getMessage().rsplit("(", 1)[1] for r in caplog.records] == [
        "try 1)", "try 2)", "try 4)", "try 8)"]


def test_an_error_that_is_not_the_connection_is_not_retried():
    waits = []

    def write():
        raise sa.exc.IntegrityError("INSERT ...", {}, Exception("duplicate key"))

    with pytest.raises(sa.exc.IntegrityError):
        with_retries(write, "recording", backoff_s=(0.1,), sleep=waits.append)
    assert waits == []


def test_each_worker_process_keeps_its_share_of_a_brands_slots():
    from delivery.worker import share
    assert share(64, 1) == 64
    assert share(64, 2) == 32
    assert share(5, 2) == 3        # rounded up: together they may use every slot
    assert share(1, 4) == 1        # every process can move every brand


def test_recording_a_batch_puts_back_only_what_the_process_share_leaves():
    from types import SimpleNamespace as NS

    from delivery.worker import room_after

    def attempt(brand_id, cap):
        return NS(callback=NS(brand_id=brand_id, max_in_flight=cap))
    batch = [attempt(1, 64), attempt(1, 64), attempt(2, 10)]
    # Brand 1: share 32, holds 40 of which 2 finish → 38 stay, nothing more may go out.
    # Brand 2: share 5, holds 3 of which 1 finishes → 2 stay, 3 may go out.
    assert room_after(batch, {1: 40, 2: 3}, processes=2) == {1: 0, 2: 3}
    # Alone, a process may use the whole cap.
    assert room_after(batch, {1: 40, 2: 3}, processes=1) == {1: 26, 2: 8}
