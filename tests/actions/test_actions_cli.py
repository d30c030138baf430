"""The integration manager's actions as a person runs them: `callbacks retry|recover|cancel|
brand set-url` in this process (:func:`cli.run_cli`), a real platform on 127.0.0.1; the callbacks
go out in delivery rounds run in the test's process (:mod:`rounds`), the worker's own path
without its processes."""
from __future__ import annotations

import json
import os
import pwd
import threading

import pytest
import sqlalchemy as sa
from cli import Result, run_cli
from factories import item
from receiver import Receiver, Reply
from rounds import deliver_until, delivering
from scopes import set_scope
from workers import wait_for

from actions import store as actions
from actions.errors import UnknownBet
from delivery import brands, store
from delivery.validation import parse_callback

#: A bet's callbacks in the tests (no place: an exhausted place declines the bet).
FLOW = ("/bet/accept", "/bet/settle", "/bet/unsettle", "/bet/settle",
        "/bet/cash-out-orders/accepted")


def callbacks(database_url, *args, stdin: str | None = None) -> Result:
    # An administrator's shell (--as is accepted) whether or not the tests run as root.
    return run_cli(*args, stdin=stdin, env={
        "DATABASE_URL": database_url,
        "CALLBACKS_ADMINS": pwd.getpwuid(os.geteuid()).pw_name})


class Switch:
    """A platform that answers 503 while down and 204 once up."""

    def __init__(self, down: bool = True):
        self.down = down

    def __call__(self, seen):
        return Reply(503 if self.down else 204)


def enqueue(engine, brand, bet_id, destinations=FLOW) -> list[str]:
    queued = store.enqueue(engine, brand, [parse_callback(item(bet_id, d))
                                           for d in destinations])
    return [q.request_id for q in queued]


def back_office_user(engine, name: str = "ann") -> None:
    """``--as NAME`` must name a back-office user (and the tests' shell is an
    administrator's: root, or listed in CALLBACKS_ADMINS)."""
    from users import store as accounts

    accounts.add_user(engine, name, accounts.INTEGRATION_MANAGER, all_brands=True,
                      password="correct horse battery")


def states(engine, bet_id) -> list[str]:
    return [c["state"] for c in store.group_callbacks(engine, bet_id)]


def snapshot(engine) -> tuple:
    """Everything an action could change."""
    with engine.connect() as conn:
        return (conn.execute(sa.text(
                    "SELECT id, state, next_attempt_at, last_error, finished_at, "
                    "manual_action_id FROM callbacks ORDER BY id")).all(),
                conn.execute(sa.text("SELECT id, base_url FROM brands ORDER BY id")).all(),
                conn.execute(sa.text("SELECT count(*) FROM actions")).scalar(),
                conn.execute(sa.text("SELECT count(*) FROM action_callbacks")).scalar())


def audit(engine) -> list:
    with engine.connect() as conn:
        return conn.execute(sa.text("SELECT * FROM actions ORDER BY id")).all()


def exhaust(engine, bets: dict[str, list[str]]) -> None:
    """Deliver until every callback of ``bets`` is exhausted (the platform is down)."""
    deliver_until(engine, lambda: store.status(engine)["pending_callbacks"] == 0, 60,
                  "every callback to exhaust its one attempt")
    for bet_id in bets:
        assert set(states(engine, bet_id)) == {"exhausted"}


def arrived_after(platform, count_before: int) -> dict[str, list[str]]:
    """request_ids the platform received per bet since ``count_before`` requests, in arrival
    order; a request_id repeated back to back counts once (at-least-once delivery may send a
    request again when its worker was too slow to record the answer before its lease ran
    out — never out of order)."""
    by_bet: dict[str, list[str]] = {}
    for seen in list(platform.seen)[count_before:]:
        arrived = by_bet.setdefault(seen.body["bet_id"], [])
        if not arrived or arrived[-1] != seen.request_id:
            arrived.append(seen.request_id)
    return by_bet


# --- retry ----------------------------------------------------------------------------------

def test_retry_sends_the_exhausted_callbacks_again_in_order(clean_db, database_url):
    switch = Switch(down=True)
    with Receiver(switch) as platform:
        # Given a bet whose callbacks all exhausted their one attempt on a dead platform
        brands.add_brand(clean_db, "acme", platform.url, retry_schedule_s=(0,), timeout_s=2)
        back_office_user(clean_db)
        request_ids = enqueue(clean_db, "acme", "bet-1", FLOW[:3])
        exhaust(clean_db, {"bet-1": request_ids})
        before = len(platform.seen)
        # When the platform is back and the integration manager retries the bet
        switch.down = False
        done = callbacks(database_url, "retry", "--group-id", "bet-1", "--reason",
                         "platform back after incident 42", "--as", "ann")
        assert done.returncode == 0, done.stderr
        deliver_until(clean_db, lambda: set(states(clean_db, "bet-1")) == {"delivered"}, 30,
                      "the bet to be delivered")
        # Then each callback went once more, in the bet's order, with its request_id
        assert arrived_after(platform, before) == {"bet-1": request_ids}
    assert "retry #1 recorded: changed 3 callback(s) of 1 bet(s)" in done.stdout
    assert "exhausted → pending (due now)" in done.stdout
    # and the attempts say who sent them and why, in `callbacks history`
    manual = [a for a in store.group_attempts(clean_db, "bet-1") if a["action_id"]]
    assert [a["manual_note"] for a in manual] == [
        "manual retry by ann: platform back after incident 42"] * 3
    assert [a["attempt_no"] for a in manual] == [2, 2, 2]
    history = callbacks(database_url, "history", "--group-id", "bet-1").stdout
    assert history.count("[manual retry by ann: platform back after incident 42]") == 3
    assert "action #1 retry by ann" in history
    # and the audit trail holds one row
    [row] = audit(clean_db)
    assert (row.kind, row.actor, row.reason, row.source, row.bet_id, row.callbacks,
            row.bets) == ("retry", "ann", "platform back after incident 42", "cli", "bet-1",
                          3, 1)


def test_retry_brings_a_failed_head_forward_and_the_rest_follow(clean_db, database_url):
    switch = Switch(down=True)
    with Receiver(switch) as platform:
        # Given a head that failed and waits ten minutes for its next try
        brands.add_brand(clean_db, "acme", platform.url, retry_schedule_s=(0, 600),
                         timeout_s=2)
        request_ids = enqueue(clean_db, "acme", "bet-1", FLOW[:2])
        deliver_until(clean_db,
                      lambda: store.group_callbacks(clean_db, "bet-1")[0]["attempts"] == 1, 30,
                      "the first attempt to fail")
        switch.down = False
        # When it is retried
        done = callbacks(database_url, "retry", "--group-id", "bet-1", "--reason", "now")
        assert done.returncode == 0, done.stderr
        # Then it goes out now, and the callback behind it follows
        deliver_until(clean_db, lambda: set(states(clean_db, "bet-1")) == {"delivered"}, 30,
                      "the bet to be delivered")
        assert [s.request_id for s in platform.seen] == [request_ids[0]] * 2 + request_ids[1:]
    # the OS user acted, as no --as was given
    assert audit(clean_db)[0].actor and audit(clean_db)[0].actor != ""


def test_include_delivered_resends_with_the_same_request_id(clean_db, database_url):
    with Receiver() as platform:
        brands.add_brand(clean_db, "acme", platform.url, retry_schedule_s=(0,), timeout_s=2)
        request_ids = enqueue(clean_db, "acme", "bet-1", FLOW[:2])
        deliver_until(clean_db, lambda: set(states(clean_db, "bet-1")) == {"delivered"}, 30,
                      "delivery")
        refused = callbacks(database_url, "retry", "--group-id", "bet-1", "--reason", "x")
        assert refused.returncode == 2
        assert "nothing to retry" in refused.stderr
        assert "--include-delivered" in refused.stderr
        done = callbacks(database_url, "retry", "--group-id", "bet-1", "--reason",
                         "platform lost its data", "--include-delivered")
        assert done.returncode == 0, done.stderr
        deliver_until(clean_db, lambda: len(platform.seen) == 4, 30, "the replay")
        deliver_until(clean_db, lambda: set(states(clean_db, "bet-1")) == {"delivered"}, 30,
                      "delivery")
        assert [s.request_id for s in platform.seen] == request_ids * 2


# --- recover --------------------------------------------------------------------------------

def test_recover_of_1000_exhausted_callbacks_across_200_bets(clean_db, database_url):
    switch = Switch(down=True)
    with Receiver(switch) as platform:
        # Given 200 bets of 5 callbacks each, all exhausted while the platform was down
        brands.add_brand(clean_db, "acme", platform.url, retry_schedule_s=(0,), timeout_s=10,
                         max_in_flight=50)
        expected = {f"bet-{n:03d}": enqueue(clean_db, "acme", f"bet-{n:03d}")
                    for n in range(200)}
        exhaust(clean_db, expected)
        before = len(platform.seen)
        switch.down = False
        # When the integration manager recovers them, checking the count first
        preview = callbacks(database_url, "recover", "--brand", "acme", "--since", "1h",
                            "--reason", "platform outage 17:00-17:20", "--dry-run")
        assert preview.returncode == 0, preview.stderr
        assert "recover would change 1000 callback(s) of 200 bet(s)" in preview.stdout
        declined = callbacks(database_url, "recover", "--brand", "acme", "--since", "1h",
                             "--reason", "platform outage", stdin="n\n")
        assert declined.returncode == 1
        assert "recover would send 1000 callback(s) of 200 bet(s)" in declined.stdout
        assert "nothing was changed" in declined.stdout
        assert not audit(clean_db)
        done = callbacks(database_url, "recover", "--brand", "acme", "--since", "1h",
                         "--reason", "platform outage 17:00-17:20", stdin="y\n")
        assert done.returncode == 0, done.stderr
        deliver_until(clean_db, lambda: store.status(clean_db)["pending_callbacks"] == 0, 120,
                      "every recovered callback to be delivered")
        # Then every callback arrived once more, each bet's in order
        assert arrived_after(platform, before) == expected
    for bet_id in expected:
        assert set(states(clean_db, bet_id)) == {"delivered"}
    # (the dry run and the declined run wrote nothing: the audit trail's numbers have no gaps)
    assert "recover #1 recorded: changed 1000 callback(s) of 200 bet(s)" in done.stdout
    # and the audit trail says who, why, what and how many; every attempt points at it
    [row] = audit(clean_db)
    assert (row.kind, row.reason, row.callbacks, row.bets, row.bet_id) == (
        "recover", "platform outage 17:00-17:20", 1000, 200, None)
    assert row.parameters["outcome"] == "exhausted"
    with clean_db.connect() as conn:
        linked = conn.execute(sa.text(
            "SELECT count(*), count(DISTINCT bet_id) FROM action_callbacks "
            "WHERE action_id = :id AND state_before = 'exhausted'"), {"id": row.id}).one()
        manual = conn.execute(sa.text("SELECT count(*) FROM attempts WHERE action_id = :id"),
                              {"id": row.id}).scalar()
    assert tuple(linked) == (1000, 200) and manual >= 1000


def test_recover_filters_by_destination_and_leaves_order_breaking_bets_alone(clean_db,
                                                                             database_url):
    switch = Switch(down=True)
    with Receiver(switch) as platform:
        brands.add_brand(clean_db, "acme", platform.url, retry_schedule_s=(0,), timeout_s=2)
        exhausted = enqueue(clean_db, "acme", "bet-1", FLOW[:2])
        exhaust(clean_db, {"bet-1": exhausted})
        switch.down = False
        # bet-2: its accept exhausted, its settle was delivered afterwards
        switch.down = True
        enqueue(clean_db, "acme", "bet-2", FLOW[:1])
        exhaust(clean_db, {"bet-2": []})
        switch.down = False
        enqueue(clean_db, "acme", "bet-2", FLOW[1:2])
        deliver_until(clean_db, lambda: states(clean_db, "bet-2") == ["exhausted", "delivered"],
                      30, "bet-2's settle to be delivered")
        before = snapshot(clean_db)
        done = callbacks(database_url, "recover", "--brand", "acme", "--since", "1h",
                         "--destination", "/bet/settle", "--reason", "settles only", "--yes",
                         "--json")
        assert done.returncode == 0, done.stderr
        result = json.loads(done.stdout)
    # Only bet-1's settle is sent again; bet-2's accept was not asked for
    assert [(c["bet_id"], c["destination"], c["state_after"]) for c in result["changes"]] == [
        ("bet-1", "/bet/settle", "pending")]
    assert before != snapshot(clean_db)
    # Without a destination, bet-2 is left alone: its accept would arrive after its settle
    preview = callbacks(database_url, "recover", "--brand", "acme", "--since", "1h",
                        "--reason", "all", "--dry-run")
    assert "left alone: 1 bet(s)" in preview.stdout
    assert "bet-2: bet 'bet-2': /bet/settle" in preview.stdout
    assert "--include-delivered" in preview.stdout


def test_recover_with_nothing_to_do_and_bad_options(clean_db, database_url):
    brands.add_brand(clean_db, "acme", "http://127.0.0.1:9")
    done = callbacks(database_url, "recover", "--brand", "acme", "--since", "1h", "--reason",
                     "x", "--yes")
    assert done.returncode == 2 and "nothing to recover for brand 'acme'" in done.stderr
    ghost = callbacks(database_url, "recover", "--brand", "ghost", "--since", "1h", "--reason",
                      "x", "--yes")
    assert ghost.returncode == 2 and "no brand named 'ghost'" in ghost.stderr
    bad = callbacks(database_url, "recover", "--brand", "acme", "--since", "yesterday",
                    "--reason", "x", "--yes")
    assert bad.returncode == 2 and "--since 'yesterday' is not a time" in bad.stderr
    no_reason = callbacks(database_url, "recover", "--brand", "acme", "--since", "1h")
    assert no_reason.returncode == 2 and "--reason" in no_reason.stderr
    blank = callbacks(database_url, "recover", "--brand", "acme", "--since", "1h",
                      "--reason", "  ", "--yes")
    assert blank.returncode == 2 and "a reason is required" in blank.stderr
    assert not audit(clean_db)


# --- cancel ---------------------------------------------------------------------------------

def test_cancel_of_the_head_asks_then_stops_the_bet(clean_db, database_url):
    with Receiver() as platform:
        brands.add_brand(clean_db, "acme", platform.url)
        back_office_user(clean_db)
        enqueue(clean_db, "acme", "bet-1", FLOW[:3])
        before = snapshot(clean_db)
        # Asked, and answered no: nothing changes
        declined = callbacks(database_url, "cancel", "--group-id", "bet-1", "--reason",
                             "duplicate bet", stdin="n\n")
        assert declined.returncode == 1
        assert "cancelling it cancels the 2 callback(s) queued behind it too" in declined.stdout
        assert snapshot(clean_db) == before
        # Answered yes: the three are skipped, and say who cancelled them and why
        done = callbacks(database_url, "cancel", "--group-id", "bet-1", "--reason",
                         "duplicate bet", "--as", "ann", stdin="y\n")
        assert done.returncode == 0, done.stderr
        enqueue(clean_db, "acme", "bet-2", FLOW[:1])
        deliver_until(clean_db, lambda: states(clean_db, "bet-2") == ["delivered"], 30, "bet-2")
        assert {s.body["bet_id"] for s in platform.seen} == {"bet-2"}
    rows = store.group_callbacks(clean_db, "bet-1")
    assert [r["state"] for r in rows] == ["skipped"] * 3
    assert {r["last_error"] for r in rows} == {"cancelled by ann: duplicate bet"}
    assert "cancelled by ann: duplicate bet" in callbacks(
        database_url, "history", "--group-id", "bet-1").stdout
    [row] = audit(clean_db)
    assert (row.kind, row.callbacks, row.bet_id) == ("cancel", 3, "bet-1")


def test_cancel_of_one_waiting_callback_lets_the_others_go(clean_db, database_url):
    with Receiver() as platform:
        brands.add_brand(clean_db, "acme", platform.url)
        request_ids = enqueue(clean_db, "acme", "bet-1", FLOW[:3])
        done = callbacks(database_url, "cancel", "--group-id", "bet-1", "--request-id",
                         request_ids[1], "--reason", "sent by mistake")
        assert done.returncode == 0, done.stderr
        deliver_until(clean_db,
                      lambda: states(clean_db, "bet-1") == ["delivered", "skipped", "delivered"],
                      30, "the others to be delivered")
        assert [s.request_id for s in platform.seen] == [request_ids[0], request_ids[2]]


# --- refusals -------------------------------------------------------------------------------

def test_a_bet_being_sent_is_never_touched(clean_db, database_url):
    # Given a delivery round sending a bet's head to a platform that answers only when
    # released
    release = threading.Event()

    def behave(seen):
        release.wait(timeout=60)
        return Reply(204)

    with Receiver(behave) as platform:
        brands.add_brand(clean_db, "acme", platform.url, retry_schedule_s=(0,), timeout_s=90)
        enqueue(clean_db, "acme", "bet-1", FLOW[:2])
        with delivering(clean_db):
            wait_for(lambda: platform.seen, 30, "the head to go out")
            before = snapshot(clean_db)
            # When actions are asked meanwhile, they are refused and change nothing
            for args in (["retry", "--group-id", "bet-1", "--include-delivered"],
                         ["cancel", "--group-id", "bet-1", "--yes"],
                         ["cancel", "--group-id", "bet-1", "--request-id",
                          store.group_callbacks(clean_db, "bet-1")[1]["request_id"]]):
                done = callbacks(database_url, *args, "--reason", "x")
                assert done.returncode == 2, done.stdout
                assert "has a callback being sent right now" in done.stderr
                assert "try again in a few seconds" in done.stderr
            assert snapshot(clean_db) == before
            release.set()
            wait_for(lambda: set(states(clean_db, "bet-1")) == {"delivered"}, 30, "delivery")
    assert not audit(clean_db)


def test_a_leased_callback_refuses_actions_until_its_lease_is_done(clean_db, database_url):
    brands.add_brand(clean_db, "acme", "http://127.0.0.1:9")
    enqueue(clean_db, "acme", "bet-1", FLOW[:1])
    store.claim_due(clean_db, lease_s=60)  # a scheduler's claim: the message is on its way
    before = snapshot(clean_db)
    done = callbacks(database_url, "cancel", "--group-id", "bet-1", "--reason", "x", "--yes")
    assert done.returncode == 2 and "being sent right now" in done.stderr
    assert "its lease runs until" in done.stderr
    assert snapshot(clean_db) == before


@pytest.mark.parametrize("args, message", [
    (["retry", "--group-id", "ghost"], "no bet 'ghost'"),
    (["cancel", "--group-id", "ghost", "--yes"], "no bet 'ghost'"),
    (["retry", "--group-id", "bet-1", "--request-id", "nope"], "no callback with request_id"),
    (["cancel", "--group-id", "bet-1"], "nothing queued to cancel"),
    (["brand", "set-url", "ghost", "http://127.0.0.1:1"], "no brand named 'ghost'"),
    (["brand", "set-url", "acme", "ftp://x"], "must start with http:// or https://"),
])
def test_unknown_bets_and_wrong_states_are_explained(clean_db, database_url, args, message):
    with Receiver() as platform:
        brands.add_brand(clean_db, "acme", platform.url)
        enqueue(clean_db, "acme", "bet-1", FLOW[:1])
        deliver_until(clean_db, lambda: states(clean_db, "bet-1") == ["delivered"], 30,
                      "delivery")
    before = snapshot(clean_db)
    done = callbacks(database_url, *args, "--reason", "x")
    assert done.returncode == 2 and message in done.stderr, done.stderr
    assert done.stderr.startswith("error: ")
    assert snapshot(clean_db) == before


# --- dry runs -------------------------------------------------------------------------------

def test_dry_runs_print_the_changes_and_change_nothing(clean_db, database_url):
    switch = Switch(down=True)
    with Receiver(switch) as platform:
        brands.add_brand(clean_db, "acme", platform.url, retry_schedule_s=(0,), timeout_s=2)
        exhausted = enqueue(clean_db, "acme", "bet-1", FLOW[:2])
        exhaust(clean_db, {"bet-1": exhausted})
    queued = enqueue(clean_db, "acme", "bet-2", FLOW[:2])
    before = snapshot(clean_db)
    runs = {
        "retry": ["retry", "--group-id", "bet-1"],
        "recover": ["recover", "--brand", "acme", "--since", "1h"],
        "cancel": ["cancel", "--group-id", "bet-2"],
        "set-url": ["brand", "set-url", "acme", "http://127.0.0.1:8"],
    }
    printed = {}
    for name, args in runs.items():
        done = callbacks(database_url, *args, "--reason", "checking", "--dry-run")
        assert done.returncode == 0, done.stderr
        printed[name] = done.stdout
        assert snapshot(clean_db) == before, name
    assert "dry run — nothing was changed. retry would change 2 callback(s) of 1 bet(s)" in \
        printed["retry"]
    for request_id in exhausted:
        assert request_id in printed["retry"] and request_id in printed["recover"]
    assert f"bet-1                    /bet/accept                     {exhausted[0]}" in \
        printed["retry"]
    assert "exhausted → pending (due now)" in printed["retry"]
    assert "exhausted → waiting" in printed["retry"]
    assert all(r in printed["cancel"] for r in queued)
    assert "pending → skipped" in printed["cancel"] and "waiting → skipped" in printed["cancel"]
    assert f"would re-route brand acme: {platform.url} → http://127.0.0.1:8" in \
        printed["set-url"]
    assert "2 queued callback(s) of 1 bet(s) would go to the new URL" in printed["set-url"]


# --- re-route -------------------------------------------------------------------------------

def test_set_url_reroutes_queued_callbacks_and_is_recorded(clean_db, database_url):
    with Receiver(lambda s: Reply(500)) as old, Receiver() as new:
        brands.add_brand(clean_db, "acme", old.url, retry_schedule_s=(0, 1, 1, 1, 1, 1),
                         timeout_s=2)
        back_office_user(clean_db)
        request_ids = enqueue(clean_db, "acme", "bet-1", FLOW[:3])
        deliver_until(clean_db, lambda: old.seen, 30, "the head to fail at the old URL")
        done = callbacks(database_url, "brand", "set-url", "acme", new.url, "--reason",
                         "platform moved to a new host", "--as", "ann")
        assert done.returncode == 0, done.stderr
        deliver_until(clean_db, lambda: set(states(clean_db, "bet-1")) == {"delivered"}, 30,
                      "every callback delivered at the new URL")
        assert [s.request_id for s in new.seen] == request_ids
        assert {s.request_id for s in old.seen} == {request_ids[0]}
    assert brands.brand_named(clean_db, "acme").base_url == new.url
    [row] = audit(clean_db)
    assert (row.kind, row.actor, row.reason) == ("set_url", "ann",
                                                 "platform moved to a new host")
    assert row.os_user == pwd.getpwuid(os.geteuid()).pw_name  # who ran it, beside --as
    assert row.parameters["old_url"] == old.url and row.parameters["new_url"] == new.url
    assert "set_url #1 recorded: re-routed brand acme" in done.stdout
    listed = callbacks(database_url, "actions", "--brand", "acme").stdout
    assert f"{old.url} → {new.url}" in listed and "platform moved to a new host" in listed


# --- the audit trail ------------------------------------------------------------------------

def test_the_audit_trail_is_append_only(clean_db, database_url):
    brands.add_brand(clean_db, "acme", "http://127.0.0.1:9")
    actions.set_url(clean_db, "acme", "http://127.0.0.1:8", actions.Actor("ann", "moved"))
    for statement in ("UPDATE actions SET reason = 'nothing'", "DELETE FROM actions"):
        with pytest.raises(sa.exc.DBAPIError, match="append-only"):
            with clean_db.begin() as conn:
                conn.execute(sa.text(statement))
    reader = sa.create_engine(sa.make_url(database_url).set(username="callbacks_reader",
                                                            password=None))
    try:
        with reader.connect() as conn:
            # row-level security: a brand's actions are visible to that brand's users only
            assert conn.execute(sa.text("SELECT reason FROM actions")).scalar() is None
            set_scope(clean_db, conn, "*", local=False)
            assert conn.execute(sa.text("SELECT reason FROM actions")).scalar() == "moved"
        for statement in ("UPDATE actions SET reason = 'x'", "DELETE FROM actions",
                          "INSERT INTO actions (brand_id, kind, actor, reason, source, "
                          "callbacks, bets) VALUES (1, 'retry', 'x', 'x', 'cli', 0, 0)"):
            with pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
                with reader.begin() as conn:
                    # past the role's read-only default: its grants alone refuse
                    conn.execute(sa.text("SET TRANSACTION READ WRITE"))
                    conn.execute(sa.text(statement))
    finally:
        reader.dispose()
    assert [r.reason for r in audit(clean_db)] == ["moved"]


def test_the_operator_role_can_act_and_nothing_more(clean_db, database_url):
    """The back-office acts as callbacks_operator: enough to act, no more."""
    brands.add_brand(clean_db, "acme", "http://127.0.0.1:9")
    enqueue(clean_db, "acme", "bet-1", FLOW[:2])
    operator = sa.create_engine(sa.make_url(database_url).set(username="callbacks_operator",
                                                              password=None))
    scope = {"seen": "*"}

    @sa.event.listens_for(operator, "begin")
    def _brands(conn):  # what the back-office sets from the signed-in user (row-level security)
        set_scope(clean_db, conn, scope["seen"])

    try:
        scope["seen"] = "999"  # a user of another brand: the bet is not there
        with pytest.raises(UnknownBet):
            actions.cancel(operator, "bet-1", actions.Actor("ann", "dup", "dashboard"))
        scope["seen"] = "*"
        result = actions.cancel(operator, "bet-1", actions.Actor("ann", "dup", "dashboard"))
        assert [c.state for c in result.changes] == ["skipped", "skipped"]
        result = actions.set_url(operator, "acme", "http://127.0.0.1:8",
                                 actions.Actor("ann", "moved", "dashboard"))
        assert result.action_id
        for statement in ("DELETE FROM callbacks", "UPDATE callbacks SET payload = '{}'",
                          "SELECT foreign_params FROM callbacks",
                          "SELECT signing_secret FROM brands", "UPDATE actions SET reason = ''"):
            with pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
                with operator.begin() as conn:
                    conn.execute(sa.text(statement))
    finally:
        operator.dispose()
    assert [(r.kind, r.source) for r in audit(clean_db)] == [("cancel", "dashboard"),
                                                             ("set_url", "dashboard")]


# --- the Integration Test's bets ------------------------------------------------------------

def _producer_bet_and_probe_exhausted(engine, platform) -> None:
    """A producer's bet and the Integration Test's balance probe of brand acme, both
    exhausted."""
    brands.add_brand(engine, "acme", platform.url, retry_schedule_s=(0,), timeout_s=2)
    producer = enqueue(engine, "acme", "bet-1", FLOW[:2])
    probe = [q.request_id for q in store.enqueue(
        engine, "acme", [parse_callback(item("it00-balance", d)) for d in FLOW[:2]],
        origin="integration_test")]
    exhaust(engine, {"bet-1": producer, "it00-balance": probe})


def test_recover_leaves_integration_test_bets_alone_unless_asked(clean_db, database_url):
    switch = Switch(down=True)
    with Receiver(switch) as platform:
        # Given a producer's bet and the Integration Test's balance probe, both exhausted
        _producer_bet_and_probe_exhausted(clean_db, platform)
        switch.down = False
        # When the integration manager looks first, then recovers
        preview = callbacks(database_url, "recover", "--brand", "acme", "--since", "1h",
                            "--reason", "outage", "--dry-run", "--json")
        done = callbacks(database_url, "recover", "--brand", "acme", "--since", "1h",
                         "--reason", "outage", "--yes", "--json")
    # Then only the producer's callbacks change, the dry run listing exactly the same
    assert done.returncode == 0, done.stderr
    planned, result = json.loads(preview.stdout), json.loads(done.stdout)
    for listed in (planned, result):
        assert {c["bet_id"] for c in listed["changes"]} == {"bet-1"}
        assert listed["callbacks"] == 2
        [alone] = listed["left_alone"]
        assert alone["bet_id"] == "it00-balance"
        assert "Integration Test traffic" in alone["reason"]
        assert "--include-integration-test" in alone["reason"]
    assert states(clean_db, "it00-balance") == ["exhausted", "exhausted"]
    assert set(states(clean_db, "bet-1")) <= {"pending", "waiting", "delivered"}
    # and retry and cancel refuse the probe, saying how to include it
    retry = callbacks(database_url, "retry", "--group-id", "it00-balance", "--reason", "x")
    assert retry.returncode == 2 and "Integration Test traffic" in retry.stderr
    cancel = callbacks(database_url, "cancel", "--group-id", "it00-balance", "--reason", "x",
                       "--yes")
    assert cancel.returncode == 2 and "--include-integration-test" in cancel.stderr
    assert states(clean_db, "it00-balance") == ["exhausted", "exhausted"]


def test_recover_with_include_integration_test_sends_both(clean_db, database_url):
    switch = Switch(down=True)
    with Receiver(switch) as platform:
        _producer_bet_and_probe_exhausted(clean_db, platform)
        args = ("recover", "--brand", "acme", "--since", "1h", "--reason", "outage",
                "--include-integration-test", "--json")
        preview = callbacks(database_url, *args, "--dry-run")
        done = callbacks(database_url, *args, "--yes")
    assert done.returncode == 0, done.stderr
    for listed in (json.loads(preview.stdout), json.loads(done.stdout)):
        assert {c["bet_id"] for c in listed["changes"]} == {"bet-1", "it00-balance"}
        assert listed["callbacks"] == 4 and listed["left_alone"] == []
    assert states(clean_db, "it00-balance")[0] != "exhausted"
