"""The worker's retry of database writes, with plain values (no database)."""
import pytest
import sqlalchemy as sa

from delivery.worker import with_retries


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


def test_an_error_that_is_not_the_connection_is_not_retried():
    waits = []

    def write():
        raise sa.exc.IntegrityError("INSERT ...", {}, Exception("duplicate key"))

    with pytest.raises(sa.exc.IntegrityError):
        with_retries(write, "recording", backoff_s=(0.1,), sleep=waits.append)
    assert waits == []
