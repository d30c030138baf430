"""The alert thread through a database outage: one line when it starts, one when it ends, and
no traceback every round in between."""
from __future__ import annotations

import logging

from alerts.monitor import AlertMonitor
from alerts.notify import Notifier
from delivery import database

#: Nothing listens on port 1 of this machine: every connection is refused.
UNREACHABLE = "postgresql+psycopg2://postgres@127.0.0.1:1/callbacks"


def test_a_database_outage_is_one_line_not_a_traceback_every_round(clean_db, caplog):
    down = database.make_engine(UNREACHABLE)
    monitor = AlertMonitor(down, evaluate_every_s=0)
    with caplog.at_level(logging.INFO, logger="alerts.monitor"):
        for _ in range(3):
            monitor.tick()
            assert monitor.send_round() == 5.0  # tried again in 5 s
        said = [r for r in caplog.records if r.levelno >= logging.WARNING]
        assert [r.getMessage().split(" (")[0] for r in said] == ["database unavailable"]
        assert said[0].exc_info is None and "alerts wait until it is back" in said[0].getMessage()

        monitor.notifier.close()
        monitor.engine, monitor.notifier = clean_db, Notifier(clean_db)
        monitor.tick()
        assert monitor.send_round() is None  # nothing to send
    monitor.notifier.close()
    down.dispose()
    back = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    assert back == ["database reachable again; alerts evaluated and sent as before"]


def test_any_other_failure_keeps_its_traceback(clean_db, caplog):
    monitor = AlertMonitor(clean_db, evaluate_every_s=0)

    def broken():
        raise ValueError("a bug")

    monitor.notifier.send_due = broken
    with caplog.at_level(logging.INFO, logger="alerts.monitor"):
        assert monitor.send_round() == 5.0
    [record] = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert record.exc_info is not None and "sending alert notifications failed" in \
        record.getMessage()
    monitor.notifier.close()
