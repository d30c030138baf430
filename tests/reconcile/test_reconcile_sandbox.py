"""Every verdict, from callbacks delivered to a real sandbox and its own ledger CSV damaged on
purpose, through ``callbacks reconcile`` run in-process."""
import csv
import json

import pytest
import sqlalchemy as sa
from cli import run_cli
from reconcile_kit import (
    SETTLE,
    TOKEN,
    UNSETTLE,
    add_brand,
    bet_callbacks,
    deliver_all,
    enqueue,
    ledger_rows,
    write_csv,
)

from delivery import audit
from reconcile import store
from sandbox.platform import Platform
from sandbox.server import serve_in_thread

LIFECYCLES = {"b-settle": "settle", "b-resettle": "resettle", "b-cash-out": "cash_out",
              "b-annulled": "cash_out_annulled", "b-decline": "decline",
              "b-too-big": "too_big", "b-intact": "settle"}


@pytest.fixture
def delivered(clean_db, database_url):
    """A brand whose callbacks all reached the sandbox, one more bet still queued, and the
    sandbox's ledger rows."""
    platform = Platform()
    platform.add_player(TOKEN, "1000.00", player_id="player-1")
    with serve_in_thread(platform) as sandbox:
        add_brand(clean_db, "north", sandbox.url)
        for bet_id, lifecycle in LIFECYCLES.items():
            enqueue(clean_db, "north", bet_callbacks(bet_id, lifecycle))
        deliver_all(clean_db)
        rows = ledger_rows(sandbox.url)
    enqueue(clean_db, "north", bet_callbacks("b-queued", "settle"))   # never delivered
    return rows


def _reconcile(database_url, *args):
    result = run_cli("reconcile", "--brand", "north", *map(str, args),
                     env={"DATABASE_URL": database_url})
    return result


def test_an_undamaged_ledger_matches_except_what_the_platform_refused_or_we_hold(
        delivered, database_url, clean_db, tmp_path):
    ledger = write_csv(tmp_path / "ledger.csv", delivered)
    result = _reconcile(database_url, ledger, "--json", "--no-record")
    assert result.code == 1, result.stdout + result.stderr
    report = json.loads(result.stdout)
    verdicts = {m["bet_id"]: m["verdict"] for m in report["mismatches"]}
    assert verdicts == {"b-too-big": "rejected_by_platform", "b-queued": "not_delivered_yet"}
    assert report["by_request"] is True
    assert {(r["verdict"], r["bets"]) for r in report["summary"]} == {
        ("match", 6), ("rejected_by_platform", 1), ("not_delivered_yet", 1)}
    assert all(r["difference"] == "0.00" for r in report["summary"])
    assert "not_enough_balance" in report["mismatches"][0]["detail"] + \
        report["mismatches"][1]["detail"]
    assert store.past(clean_db) == []   # --no-record


def test_every_verdict_from_a_damaged_ledger(delivered, database_url, clean_db, tmp_path):
    rows = [dict(r) for r in delivered]
    settle_of = [r for r in rows if r["bet_id"] == "b-settle" and r["destination"] == SETTLE]
    rows.remove(settle_of[0])                                             # missing
    unsettle = next(r for r in rows if r["bet_id"] == "b-resettle"
                    and r["destination"] == UNSETTLE)
    rows.append(dict(unsettle))                                           # booked twice
    refund = next(r for r in rows if r["bet_id"] == "b-cash-out" and r["amount"] == "8.00")
    refund["amount"] = "18.00"                                            # amount differs
    rows.append(dict(rows[0], bet_id="b-stranger", request_id="r-x", amount="-3.00"))
    ledger = write_csv(tmp_path / "damaged.csv", rows)
    out = tmp_path / "report.csv"

    result = _reconcile(database_url, ledger, "--csv", out)

    assert result.code == 1, result.stderr
    with out.open() as handle:
        report = {r["bet_id"]: r for r in csv.DictReader(handle)}
    assert {b: r["verdict"] for b, r in report.items()} == {
        "b-settle": "missing_on_platform", "b-resettle": "booked_twice",
        "b-cash-out": "amount_differs", "b-stranger": "unknown_to_us",
        "b-queued": "not_delivered_yet", "b-too-big": "rejected_by_platform",
        "b-annulled": "match", "b-decline": "match", "b-intact": "match"}
    missing = report["b-settle"]
    assert (missing["expected"], missing["booked"], missing["difference"]) == (
        "15.00", "-10.00", "-25.00")
    assert missing["request_ids"] == settle_of[0]["request_id"]
    assert report["b-resettle"]["difference"] == "-25.00"
    assert report["b-cash-out"]["difference"] == "10.00"
    assert report["b-stranger"]["difference"] == "-3.00"
    # the text report names the missing callback and the Request ID the platform saw
    assert "b-settle  missing_on_platform" in result.stdout
    assert settle_of[0]["request_id"] in result.stdout
    assert "Request IDs: " in result.stdout
    # kept in the brand's history, as run by the OS user, with the bets that do not match
    [kept] = store.past(clean_db)
    assert (kept.run_by, kept.source, kept.bets, kept.not_matching, kept.kept_file) == (
        audit.os_identity()[0], "cli", 9, 6, False)
    assert {b["bet_id"] for b in store.bets_of(clean_db, kept.id)} == {
        b for b, r in report.items() if r["verdict"] != "match"}


def test_without_request_ids_net_amounts_are_compared_and_the_report_says_so(
        delivered, database_url, tmp_path):
    rows = [dict(r) for r in delivered]
    rows.remove(next(r for r in rows if r["bet_id"] == "b-settle"
                     and r["destination"] == SETTLE))
    rows.append(dict(next(r for r in rows if r["bet_id"] == "b-resettle"
                          and r["destination"] == UNSETTLE)))
    next(r for r in rows if r["bet_id"] == "b-cash-out" and r["amount"] == "8.00")["amount"] = (
        "18.00")
    for row in rows:
        row["delta"] = row.pop("amount")
    ledger = write_csv(tmp_path / "net.csv", rows, ["bet_id", "delta", "player_id"])

    result = _reconcile(database_url, ledger, "--column", "amount=delta")

    assert result.code == 1, result.stderr
    assert "net amounts" in result.stdout
    shown = {line.split()[0]: line.split()[1] for line in result.stdout.splitlines()
             if line.startswith("b-")}
    assert shown == {"b-settle": "missing_on_platform", "b-resettle": "booked_twice",
                     "b-cash-out": "amount_differs", "b-queued": "not_delivered_yet",
                     "b-too-big": "rejected_by_platform"}


def test_the_window_selects_bets_by_when_they_were_created(delivered, database_url, tmp_path):
    ledger = write_csv(tmp_path / "ledger.csv", delivered)
    later = _reconcile(database_url, ledger, "--since", "2999-01-01", "--json")
    # no bet of ours was created then, and every ledger row was booked before: nothing to say
    assert later.code == 0, later.stderr
    assert json.loads(later.stdout)["bets"] == 0
    # rows without a time cannot be placed outside the window: they are compared
    timeless = write_csv(tmp_path / "timeless.csv", delivered,
                         ["bet_id", "amount", "request_id"])
    result = _reconcile(database_url, timeless, "--since", "2999-01-01", "--json")
    assert result.code == 1
    assert {m["verdict"] for m in json.loads(result.stdout)["mismatches"]} == {"unknown_to_us"}
    everything = _reconcile(database_url, ledger, "--since", "30d", "--until", "2999-01-01",
                            "--json")
    assert json.loads(everything.stdout)["bets"] == len(LIFECYCLES) + 1


def test_every_bet_matching_exits_zero(clean_db, database_url, tmp_path):
    platform = Platform()
    platform.add_player(TOKEN, "1000.00")
    with serve_in_thread(platform) as sandbox:
        add_brand(clean_db, "north", sandbox.url, currency=None)
        for n, lifecycle in enumerate(["settle", "resettle", "cash_out_annulled", "decline"]):
            enqueue(clean_db, "north", bet_callbacks(f"m-{n}", lifecycle))
        deliver_all(clean_db)
        rows = ledger_rows(sandbox.url)
    result = _reconcile(database_url, write_csv(tmp_path / "ledger.csv", rows))
    assert result.code == 0, result.stdout + result.stderr
    assert "every bet matches (4 bets)" in result.stdout


def test_integration_test_bets_are_left_out_on_both_sides(delivered, clean_db, database_url,
                                                          tmp_path):
    with clean_db.begin() as conn:   # as if the Integration Test had sent b-intact's callbacks
        conn.execute(sa.text("UPDATE callbacks SET origin = 'integration_test' "
                             "WHERE bet_id = 'b-intact'"))
    result = _reconcile(database_url, write_csv(tmp_path / "ledger.csv", delivered), "--json")
    report = json.loads(result.stdout)
    assert report["test_rows"] == 2 and report["bets"] == len(LIFECYCLES)
    assert "b-intact" not in {m["bet_id"] for m in report["mismatches"]}
    shown = _reconcile(database_url, tmp_path / "ledger.csv")
    assert "left out: 2 ledger rows of Integration Test bets" in shown.stdout


def test_callbacks_are_read_without_copy_under_a_wait_callback(delivered, clean_db, tmp_path):
    """The dashboard's server sets a psycopg2 wait callback, under which COPY is refused: the
    callbacks are streamed instead, with the same verdicts."""
    import psycopg2.extensions
    import psycopg2.extras

    from reconcile import run

    ledger = write_csv(tmp_path / "ledger.csv", delivered)
    with clean_db.connect() as conn:
        brand_id = conn.exec_driver_sql("SELECT id FROM brands WHERE name = 'north'").scalar()
    scope = run.Scope(brand_id, "north", "EUR")
    copied = run.reconcile(clean_db, scope, ledger)
    clean_db.dispose()
    psycopg2.extensions.set_wait_callback(psycopg2.extras.wait_select)
    try:
        streamed = run.reconcile(clean_db, scope, ledger)
    finally:
        psycopg2.extensions.set_wait_callback(None)
        clean_db.dispose()
    assert streamed.callbacks == copied.callbacks > 0
    assert streamed.summary.rows() == copied.summary.rows()
    assert [r.bet_id for r in streamed.mismatches] == [r.bet_id for r in copied.mismatches]


def test_callbacks_delivered_after_the_export_are_not_expected_in_it(delivered, database_url,
                                                                      tmp_path):
    from datetime import datetime, timedelta

    last = delivered[-1]   # the platform's latest movement, left out of the ledger
    ledger = write_csv(tmp_path / "ledger.csv", delivered[:-1])
    strict = json.loads(_reconcile(database_url, ledger, "--json").stdout)
    assert {m["bet_id"]: m["verdict"] for m in strict["mismatches"]}[last["bet_id"]] == (
        "missing_on_platform")
    # said to be exported just before that callback was delivered: it is not expected yet
    before = datetime.fromisoformat(last["at"]) - timedelta(milliseconds=1)
    lenient = json.loads(_reconcile(database_url, ledger, "--exported-at", before.isoformat(),
                                    "--json").stdout)
    found = next(m for m in lenient["mismatches"] if m["bet_id"] == last["bet_id"])
    assert found["verdict"] == "not_delivered_yet"
    assert "delivered after the ledger was exported" in found["detail"]
    assert lenient["exported_at"] == before.isoformat()
