"""Alerts end to end on real PostgreSQL: a platform that fails (a real HTTP server), rules
evaluated as the scheduler does, notifications posted to a real receiver on 127.0.0.1."""
import json
import threading
import time
from decimal import Decimal

import httpx
import pytest
import sqlalchemy as sa
from brand_traffic import deliver, enqueue, failing_receiver
from player_sessions import live_session
from receiver import Receiver, Reply

import contract
from alerts import monitor as alert_monitor
from alerts import store as alert_store
from alerts.monitor import AlertMonitor
from alerts.notify import Notifier
from delivery import brands, heartbeats
from health import figures

#: Retries of the notifications under test, short so a test needs no waiting.
QUICK_RETRIES_S = (0.01, 0.01, 0.01)


def _sql(engine, text, **params):
    with engine.begin() as conn:
        result = conn.execute(sa.text(text), params)
        return result.fetchall() if result.returns_rows else []


def _wait_until(condition, what: str, limit_s: float = 20.0):
    """Poll until ``condition()`` is true; fail naming ``what`` if it never becomes so."""
    deadline = time.monotonic() + limit_s
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"never happened: {what}")
        time.sleep(0.05)


@pytest.fixture(autouse=True)
def few_attempts(clean_db):
    """Failure rates judged from 5 attempts and resolved at once (the rules here are about
    firing and notifying; volume and hysteresis have tests of their own below)."""
    for kind in ("failure_rate", "heartbeat_failure_rate"):
        alert_store.set_rule(clean_db, kind, Decimal(25), window_s=600, min_attempts=5,
                             quiet_s=0)


@pytest.fixture
def hook():
    """A receiver of alert notifications (answers 200), registered as the one alert URL."""
    with Receiver(lambda seen: Reply(200, b"ok")) as receiver:
        yield receiver


def _failing_brand(engine, platform, name="acme", bets=6):
    brands.add_brand(engine, name, platform.url, retry_schedule_s=(0, 3600))
    brands.set_brand_currency(engine, name, "EUR")
    for i in range(bets):
        enqueue(engine, name, f"x{i}", "/bet/place", stake="10.00")
    deliver(engine)


def test_a_rule_fires_once_while_broken_and_resolves(clean_db, hook):
    alert_store.add_url(clean_db, hook.url + "/hook")
    notifier = Notifier(clean_db, retry_schedule_s=QUICK_RETRIES_S)
    with failing_receiver({f"x{i}" for i in range(6)}) as platform:
        _failing_brand(clean_db, platform)

    # Given six failed attempts of six, when rules are evaluated: failure rate fires.
    events = alert_store.evaluate(clean_db)
    assert [(e.brand, e.kind, e.status) for e in events] == [("acme", "failure_rate", "firing")]
    assert notifier.send_due() == 1
    (seen,) = hook.seen
    assert seen.path == "/hook"
    assert seen.body["text"].startswith("[FIRING] Callback Desk · brand acme · failure rate: "
                                        "failure rate 100.0 % over the last 10 min")
    assert (seen.body["status"], seen.body["rule"], seen.body["brand"]) == (
        "firing", "failure_rate", "acme")
    assert seen.body["details"] == {"failed": 6, "finished": 6, "window_s": 600}

    # While it stays broken, nothing more is written or sent.
    assert alert_store.evaluate(clean_db) == []
    assert notifier.send_due() == 0 and len(hook.seen) == 1

    # When the failures fall out of the window, it resolves, once.
    _sql(clean_db, "UPDATE attempts SET started_at = started_at - interval '1 hour'")
    events = alert_store.evaluate(clean_db)
    assert [(e.kind, e.status) for e in events] == [("failure_rate", "resolved")]
    assert alert_store.evaluate(clean_db) == []
    notifier.send_due()
    assert [s.body["status"] for s in hook.seen] == ["firing", "resolved"]
    assert hook.seen[1].body["text"].startswith("[RESOLVED] Callback Desk · brand acme")

    with clean_db.connect() as conn:
        history = alert_store.history(conn)
    assert [(h["status"], h["notifications"], h["delivered"]) for h in history] == [
        ("resolved", 1, 1), ("firing", 1, 1)]


def test_every_kind_of_rule_fires_from_its_own_figures(clean_db):
    with failing_receiver({"x0", "x1", "e"}) as platform:
        _failing_brand(clean_db, platform, bets=2)
        brands.add_brand(clean_db, "once", platform.url, retry_schedule_s=(0,))
        enqueue(clean_db, "once", "e", "/bet/place", stake="1.00")
        deliver(clean_db)
    acme = brands.brand_named(clean_db, "acme").id
    alert_store.set_rule(clean_db, "money_at_risk", Decimal("15"), brand_id=acme)
    alert_store.set_rule(clean_db, "oldest_pending", Decimal(60))
    _sql(clean_db, "UPDATE callbacks SET created_at = now() - interval '2 minutes' "
                    "WHERE bet_id = 'x0'")
    events = alert_store.evaluate(clean_db)
    fired = {(e.brand, e.kind) for e in events}
    assert fired == {("acme", "money_at_risk"), ("acme", "oldest_pending"),
                     ("once", "exhausted")}
    money = next(e for e in events if e.kind == "money_at_risk")
    assert money.message.startswith("money at risk EUR 20.00 (threshold 15 in any one currency)")
    assert all(e.notifications == 0 for e in events)   # no URL yet: history only


def test_a_notification_is_retried_until_the_receiver_recovers(clean_db):
    answers = iter([Reply(503, b"busy"), Reply(500, b"down")])
    with Receiver(lambda seen: next(answers, Reply(204))) as flaky, \
            failing_receiver({"x0", "x1", "x2", "x3", "x4"}) as platform:
        alert_store.add_url(clean_db, flaky.url)
        _failing_brand(clean_db, platform, bets=5)
        (event,) = alert_store.evaluate(clean_db)
        notifier = Notifier(clean_db, retry_schedule_s=QUICK_RETRIES_S)
        _wait_until(lambda: notifier.send_due() == 0 and _states(clean_db) == ["delivered"],
                    "the notification delivered")
        assert [s.status for s in flaky.seen] == [503, 500, 204]
        assert len({s.raw for s in flaky.seen}) == 1   # the same body every time
    attempts = _sql(clean_db, "SELECT attempt_no, response_status, error "
                               "FROM alert_notification_attempts ORDER BY attempt_no")
    assert [(a.attempt_no, a.response_status) for a in attempts] == [(1, 503), (2, 500),
                                                                     (3, 204)]
    assert attempts[0].error == "HTTP 503: busy" and attempts[2].error is None
    with clean_db.connect() as conn:
        (row,) = alert_store.history(conn)
    assert (row["id"], row["delivered"], row["attempts"]) == (event.id, 1, 3)


def test_a_notification_gives_up_when_its_retries_are_used(clean_db):
    with Receiver(lambda seen: Reply(500)) as dead, \
            failing_receiver({f"x{i}" for i in range(5)}) as platform:
        alert_store.add_url(clean_db, dead.url)
        _failing_brand(clean_db, platform, bets=5)
        alert_store.evaluate(clean_db)
        notifier = Notifier(clean_db, retry_schedule_s=(0.01,))
        _wait_until(lambda: notifier.send_due() == 0 and _states(clean_db) == ["failed"],
                    "the notification given up")
        assert len(dead.seen) == 2


def test_an_unreachable_receiver_is_recorded_without_its_url(clean_db):
    with failing_receiver({f"x{i}" for i in range(5)}) as platform:
        _failing_brand(clean_db, platform, bets=5)
    alert_store.add_url(clean_db, "http://127.0.0.1:9/secret-token")
    alert_store.evaluate(clean_db)
    Notifier(clean_db, retry_schedule_s=(3600,)).send_due()
    (attempt,) = _sql(clean_db, "SELECT response_status, error FROM alert_notification_attempts")
    assert attempt.response_status is None and attempt.error.startswith("ConnectError")
    assert "secret-token" not in attempt.error
    assert _states(clean_db) == ["pending"]


def test_the_alert_thread_evaluates_on_time_and_sends(clean_db, hook, monkeypatch):
    monkeypatch.setattr(alert_monitor, "SEND_POLL_S", 0.02)  # the thread looks often
    alert_store.add_url(clean_db, hook.url)
    with failing_receiver({f"x{i}" for i in range(5)}) as platform:
        _failing_brand(clean_db, platform, bets=5)
    _sql(clean_db, "UPDATE callbacks SET state = 'pending', next_attempt_at = now() + "
                    "interval '1 hour'")   # nothing for the scheduler to claim
    monitor = AlertMonitor(clean_db, evaluate_every_s=3600,
                           notifier=Notifier(clean_db, retry_schedule_s=QUICK_RETRIES_S))
    looks = []
    tick = monitor.tick

    def counted_tick():
        looks.append(1)
        tick()

    monitor.tick = counted_tick
    stop = threading.Event()
    sender = monitor.start(stop)
    try:
        _wait_until(lambda: len(hook.seen) == 1, "the firing notification posted")
        monitor.tick()   # within the evaluation interval: no second evaluation
        looked = len(looks)
        _wait_until(lambda: len(looks) >= looked + 5, "the thread's own looks, too")
        assert len(_sql(clean_db, "SELECT id FROM alert_events")) == 1
    finally:
        stop.set()
        sender.join(timeout=10)
    assert hook.seen[0].body["rule"] == "failure_rate"


def _states(engine) -> list[str]:
    return [r.state for r in _sql(engine, "SELECT state FROM alert_notifications ORDER BY id")]


def test_heartbeat_failure_rate_fires_from_recorded_heartbeats(clean_db, hook):
    def platform(seen) -> Reply:
        session = json.loads(seen.headers["foreign-params"])["token"]
        if session == "logged-out":   # the platform ends it: an answer, not a failure
            return Reply.json(400, contract.error_body(contract.SESSION_UNKNOWN))
        return Reply(503, b"maintenance")

    alert_store.add_url(clean_db, hook.url + "/hook")
    with Receiver(platform) as failing, Receiver() as fine:
        # Given a brand whose platform fails six sessions' heartbeats (and ends a seventh), and
        # a brand whose platform answers its heartbeats
        brands.add_brand(clean_db, "acme", failing.url)
        brands.add_brand(clean_db, "calm", fine.url)
        for n in range(6):
            live_session(clean_db, "acme", f"player-{n}")
            live_session(clean_db, "calm", f"player-{n}")
        live_session(clean_db, "acme", "logged-out")
        with httpx.Client(timeout=5) as client:
            sent = heartbeats.beat_round(clean_db, client)
    assert len(sent) == 13 and len(failing.seen) == 7

    # Then the heartbeats are figures of their own, apart from the bet callbacks' failure rate
    with clean_db.begin() as conn:
        now = {b.brand: b for b in figures.read_now(conn)}
    assert (now["acme"].heartbeats_finished, now["acme"].heartbeats_failed) == (7, 6)
    assert (now["calm"].heartbeats_finished, now["calm"].heartbeats_failed) == (6, 0)
    assert now["acme"].rate_finished == 0 and now["acme"].recent.finished == 0

    # When rules are evaluated: the heartbeat rule fires for acme only, once
    events = alert_store.evaluate(clean_db)
    assert [(e.brand, e.kind, e.status) for e in events] == [
        ("acme", "heartbeat_failure_rate", "firing")]
    assert alert_store.evaluate(clean_db) == []
    Notifier(clean_db, retry_schedule_s=QUICK_RETRIES_S).send_due()
    (seen,) = hook.seen
    assert seen.body["text"].startswith(
        "[FIRING] Callback Desk · brand acme · heartbeat failure rate: heartbeat failure rate "
        "85.7 % over the last 10 min: 6 of 7 heartbeats did not keep their player session "
        "alive (threshold 25 %)")
    assert seen.body["details"] == {"failed": 6, "finished": 7, "window_s": 600}

    # A brand's own rule with a higher threshold and a shorter window: it resolves
    alert_store.set_rule(clean_db, "heartbeat_failure_rate", Decimal(90), window_s=300,
                         brand_id=brands.brand_named(clean_db, "acme").id,
                         resolve_below=Decimal(90), quiet_s=0, min_attempts=5)
    events = alert_store.evaluate(clean_db)
    assert [(e.brand, e.kind, e.status) for e in events] == [
        ("acme", "heartbeat_failure_rate", "resolved")]


def test_hysteresis_and_flapping_on_the_database(clean_db, hook):
    # Given a failure rate that must stay calm 5 minutes to resolve
    alert_store.set_rule(clean_db, "failure_rate", Decimal(25), window_s=600, min_attempts=5)
    alert_store.add_url(clean_db, hook.url)
    notifier = Notifier(clean_db, retry_schedule_s=QUICK_RETRIES_S)
    with failing_receiver({f"x{i}" for i in range(5)}) as platform:
        _failing_brand(clean_db, platform, bets=5)
    calm = "UPDATE attempts SET started_at = started_at - interval '1 hour'"
    assert [e.status for e in alert_store.evaluate(clean_db)] == ["firing"]
    _sql(clean_db, calm)
    # calm now, but not for 5 minutes yet: still firing
    assert alert_store.evaluate(clean_db) == []
    _sql(clean_db, "UPDATE alert_firing SET clear_since = clear_since - interval '5 minutes'")
    assert [e.status for e in alert_store.evaluate(clean_db)] == ["resolved"]
    # When it fires twice more within the hour, the third fire says "flapping" and the
    # next resolution is history only
    for _ in range(2):
        _sql(clean_db, "UPDATE attempts SET started_at = now()")
        assert [e.status for e in alert_store.evaluate(clean_db)] == ["firing"]
        _sql(clean_db, calm)
        alert_store.evaluate(clean_db)
        _sql(clean_db, "UPDATE alert_firing SET clear_since = clear_since - interval '5 min'")
        assert [e.status for e in alert_store.evaluate(clean_db)] == ["resolved"]
    notifier.send_due()
    assert [s.body["status"] for s in hook.seen] == ["firing", "resolved", "firing",
                                                      "resolved", "flapping"]
    assert hook.seen[-1].body["text"].startswith("[FLAPPING] Callback Desk · brand acme · "
                                                 "failure rate: flapping: fired 3 times")
    with clean_db.connect() as conn:
        history = alert_store.history(conn)
    assert [(h["status"], h["flapping"], h["notified"]) for h in history[:2]] == [
        ("resolved", True, False), ("firing", True, True)]
    # An hour later it has settled: one "resolved" says so
    _sql(clean_db, "UPDATE alert_events SET at = at - interval '1 hour'")
    [settled] = alert_store.evaluate(clean_db)
    assert settled.status == "resolved" and settled.message.startswith("settled after flapping")
    assert alert_store.evaluate(clean_db) == []
    notifier.send_due()
    assert [s.body["status"] for s in hook.seen][-1] == "resolved"
    assert _sql(clean_db, "SELECT * FROM alert_flapping") == []
