"""Runs stored in PostgreSQL: the run, its cases and steps, and the battery's traffic in the
ordinary queue tables, tagged so it can be told apart."""
import sqlalchemy as sa
from battery_testkit import TIMEOUT_S, TOKEN, closed_port_url, sandbox

from battery import store as battery_store
from battery.results import CANCELLED, SUCCESS
from battery.runner import Target, run_battery
from battery.store import RunRecorder
from battery.suite import CASES
from delivery import brands, store
from sandbox import bugs


def _run(engine, url, brand_name="acme", who="dana", **target):
    brand = brands.add_brand(engine, brand_name, url)
    return run_battery(Target(url, {"token": TOKEN}, timeout_s=TIMEOUT_S, brand_id=brand.id,
                              **target),
                       recorder=RunRecorder(engine, brand, "dashboard"), triggered_by=who)


def _all(engine, query, **params):
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(sa.text(query), params)]


def test_a_run_is_stored_with_its_cases_steps_and_attempts(clean_db):
    with sandbox() as platform:
        run = _run(clean_db, platform.url)
    [stored] = _all(clean_db, "SELECT * FROM integration_runs")
    assert stored["id"] == run.run_id and stored["status"] == SUCCESS
    assert (stored["cases_passed"], stored["cases_failed"], stored["cases_total"]) == \
           (len(CASES), 0, len(CASES))
    assert stored["triggered_by"] == "dana" and stored["source"] == "dashboard"
    assert stored["duration_ms"] > 0 and stored["preflight"]["findings"] == []
    assert all(c["passed"] for c in stored["preflight"]["checks"])
    steps = sum(len(c.steps) for c in run.cases)
    assert len(_all(clean_db, "SELECT 1 FROM integration_steps")) == steps
    # Every request about a bet is an attempt of origin integration_test, preflight included
    # (the heartbeat is about a session: it is kept in the run's preflight only)
    about_bets = [c for c in run.preflight if c.destination != "/heartbeat"]
    origins = _all(clean_db, "SELECT origin, count(*) AS n FROM attempts GROUP BY origin")
    assert origins == [{"origin": "integration_test", "n": steps + len(about_bets)}]
    # And every step names its attempt (the Attempt ID) and its callback
    linked = _all(clean_db, """SELECT count(*) AS n FROM integration_steps s
                               JOIN attempts a ON a.id = s.attempt_id
                               JOIN callbacks c ON c.id = s.callback_id AND c.id = a.callback_id""")
    assert linked == [{"n": steps}]


def test_battery_callbacks_are_final_and_a_replay_is_a_second_attempt(clean_db):
    with sandbox() as platform:
        run = _run(clean_db, platform.url)
    states = _all(clean_db, """SELECT DISTINCT origin, state FROM callbacks
                               WHERE bet_id NOT LIKE 'it00-absent-%' ORDER BY state""")
    assert states == [{"origin": "integration_test", "state": "delivered"},
                      {"origin": "integration_test", "state": "rejected"}]
    # The preflight's presence checks are about a bet no platform knows: refused, never retried
    checks = _all(clean_db, """SELECT DISTINCT state FROM callbacks
                               WHERE bet_id LIKE 'it00-absent-%'""")
    assert {c["state"] for c in checks} <= {"rejected", "exhausted"} and checks
    place = next(s for s in run.cases[6].steps if s.label.startswith("place again"))
    [callback] = _all(clean_db, "SELECT attempts FROM callbacks WHERE request_id = :r",
                      r=place.request_id)
    numbers = _all(clean_db, """SELECT a.attempt_no FROM attempts a JOIN callbacks c
                                ON c.id = a.callback_id WHERE c.request_id = :r
                                ORDER BY a.attempt_no""", r=place.request_id)
    assert callback["attempts"] == 2 and [n["attempt_no"] for n in numbers] == [1, 2]


def test_bets_end_as_queued_bets_would_and_tokens_are_masked(clean_db):
    with sandbox() as platform:
        run = _run(clean_db, platform.url)
    refused = next(s for s in run.cases[18].steps if s.label == "place above the balance")
    settled = run.cases[0].steps[1]
    assert store.bet(clean_db, refused.bet_id)["status"] == "PLACE_ERROR"
    assert store.bet(clean_db, settled.bet_id)["status"] == "SETTLED"
    leaked = _all(clean_db, """SELECT count(*) AS n FROM callbacks c JOIN attempts a
                               ON a.callback_id = c.id
                               WHERE c.foreign_params::text LIKE :t
                                  OR a.request_headers::text LIKE :t""", t=f"%{TOKEN}%")
    assert leaked == [{"n": 0}]


def test_a_stored_run_loads_as_it_was_run(clean_db):
    with sandbox(bugs.NO_RELEASE_ON_DECLINE) as platform:
        run = _run(clean_db, platform.url)
    brand = battery_store.brand(clean_db, "acme")
    loaded = battery_store.load_run(clean_db, run.run_id, brand["id"])
    assert loaded.status == run.status and loaded.duration_ms == run.duration_ms
    assert [(c.status, c.message, c.failed_step) for c in loaded.cases] == \
           [(c.status, c.message, c.failed_step) for c in run.cases]
    assert [[(s.label, s.passed, s.request, s.response["status"]) for s in c.steps]
            for c in loaded.cases] == \
           [[(s.label, s.passed, s.request, s.response["status"]) for s in c.steps]
            for c in run.cases]
    # A run is loaded only for its own brand
    other = brands.add_brand(clean_db, "other", platform.url)
    assert battery_store.load_run(clean_db, run.run_id, other.id) is None


def test_history_lists_the_brands_runs_newest_first(clean_db):
    with sandbox() as platform:
        first = _run(clean_db, platform.url, who="ann")
        second = _run(clean_db, platform.url, who="bob")
        _run(clean_db, platform.url, brand_name="elsewhere")
    brand = battery_store.brand(clean_db, "acme")
    history = battery_store.runs_of_brand(clean_db, brand["id"])
    assert [(r["id"], r["triggered_by"]) for r in history] == [(second.run_id, "bob"),
                                                              (first.run_id, "ann")]


def test_a_cancelled_run_is_stored_with_its_reason_and_every_case(clean_db):
    url = closed_port_url()
    run = _run(clean_db, url)
    [stored] = _all(clean_db, "SELECT status, reason FROM integration_runs")
    assert stored == {"status": CANCELLED, "reason": run.reason}
    cases = _all(clean_db, "SELECT status FROM integration_cases ORDER BY number")
    assert [c["status"] for c in cases] == [CANCELLED] * len(CASES)
    # The preflight's failed attempt is in the history too, as exhausted (no retries)
    assert _all(clean_db, "SELECT outcome, error_class FROM attempts") == \
           [{"outcome": "exhausted", "error_class": "connect"}]
