"""`callbacks run` starts every part, says where it is, and Ctrl-C stops all of it."""
import json
import os
import re
import signal
import subprocess
import sys

import httpx
import psutil
import pytest
import sqlalchemy as sa
from cli import run_cli
from workers import wait_for

from delivery import brands


@pytest.mark.slow
def test_run_starts_everything_and_ctrl_c_stops_it(clean_db, database_url, tmp_path):
    env = dict(os.environ, DATABASE_URL=database_url, CALLBACKS_HOME=str(tmp_path))
    proc = subprocess.Popen([sys.executable, "-m", "callbacks", "run", "--no-dashboard",
                             "--rate", "4"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    lines = []
    for line in proc.stdout:
        lines.append(line)
        if line.startswith("Ctrl-C stops everything"):
            break
    printed = "".join(lines)
    assert "Callback Desk is running" in printed, printed
    for brand in ("healthy", "flaky", "buggy"):
        assert f"(brand {brand}; its ledger " in printed
    children = psutil.Process(proc.pid).children(recursive=True)
    assert len(children) >= 6  # three sandboxes, worker (+ its Dramatiq processes), simulator,
    #                            producer API

    # The printed curl example works as printed: queued once, repeated safely
    api_url, token = re.search(r"producer HTTP API\s+(http://\S+)\s+\(token (\S+);",
                               printed).groups()
    body = json.loads(re.search(r"-d '(.+)'$", printed, re.MULTILINE).group(1))
    auth = {"Authorization": f"Bearer {token}"}
    route = f"{api_url}/v1/brands/healthy/callbacks"
    assert httpx.post(route, json=body, headers=auth, timeout=30).status_code == 201
    assert httpx.post(route, json=body, headers=auth, timeout=30).status_code == 200
    assert httpx.post(route, json=body, timeout=30).status_code == 401

    def traffic():
        """What the demo's traffic has made so far: delivered attempts, player sessions per
        brand, heartbeat intervals and sessions of a player the platform logged out."""
        with clean_db.connect() as conn:
            delivered = conn.execute(sa.text(
                "SELECT count(*) FROM attempts WHERE outcome = 'delivered'")).scalar()
            sessions = dict(conn.execute(sa.text(
                "SELECT b.name, count(s.id) FROM brands b JOIN player_sessions s "
                "ON s.brand_id = b.id GROUP BY b.name")).all())
            intervals = set(conn.execute(sa.text(
                "SELECT heartbeat_interval_s FROM brands")).scalars())
            logged_out = conn.execute(sa.text(
                "SELECT count(*) FROM player_sessions WHERE session_id LIKE '%-logged-out-0'")
            ).scalar()
        return delivered, sessions, intervals, logged_out

    def flowing():
        delivered, sessions, _, logged_out = traffic()
        return (delivered > 0 and set(sessions) == {"healthy", "flaky", "buggy"}
                and min(sessions.values()) >= 2 and logged_out == 3)

    # Traffic flows (polled, not a fixed wait: the demo's first deliveries come within seconds)
    wait_for(flowing, 60, "delivered attempts and every brand's player sessions")
    delivered, sessions, intervals, logged_out = traffic()
    assert delivered > 0
    # The simulator's players have sessions on every brand, whose heartbeats are due every
    # few seconds (one per brand of a player the platform logged out, for it to end)
    assert set(sessions) == {"healthy", "flaky", "buggy"} and min(sessions.values()) >= 2
    assert intervals == {5} and logged_out == 3

    def heartbeats_shown():
        with clean_db.connect() as conn:
            delivered = conn.execute(sa.text(
                "SELECT count(*) FROM attempts WHERE destination = '/heartbeat' "
                "AND outcome = 'delivered'")).scalar()
            ended = conn.execute(sa.text(
                "SELECT count(*) FROM player_sessions s JOIN brands b ON b.id = s.brand_id "
                "WHERE b.name = 'healthy' AND s.state = 'ended_by_platform'")).scalar()
        return delivered > 0 and ended == 1

    # and their heartbeats go out: the platforms answer them, and end the unknown session
    assert wait_for(heartbeats_shown, 30, "heartbeats delivered and the unknown session ended")
    bet_id = body["callbacks"][0]["bet_id"]
    [place] = httpx.get(f"{api_url}/v1/bets/{bet_id}/callbacks", headers=auth,
                        timeout=30).json()["callbacks"]
    assert place["state"] == "delivered"  # the example's player has a wallet on the sandbox

    # The printed reconcile works as printed: the buggy platform's ledger against its callbacks
    fetch, reconcile = re.search(r"^  (curl .+) && (\S+ reconcile .+)$", printed,
                                 re.MULTILINE).groups()
    ledger = tmp_path / "buggy-ledger.csv"
    ledger.write_text(wait_for(lambda: _with_rows(httpx.get(fetch.split()[-1], timeout=30).text),
                               60, "a movement in the buggy platform's ledger"))
    words = reconcile.split()
    assert words[1:5] == ["reconcile", "--brand", "buggy", "buggy-ledger.csv"]
    assert words[5] == "--exported-at"
    reconciled = run_cli(*words[1:4], str(ledger), "--exported-at", "1m",
                         env={"DATABASE_URL": database_url})
    assert reconciled.returncode in (0, 1), reconciled.stderr
    assert reconciled.stdout.startswith("brand buggy: ledger ")

    proc.send_signal(signal.SIGINT)
    rest = proc.communicate(timeout=60)[0]
    assert proc.returncode == 0 and "stopped" in rest
    assert not [c for c in children if c.is_running() and c.status() != psutil.STATUS_ZOMBIE]


def _with_rows(csv_text: str) -> str | None:
    """The CSV when it has a row besides its header."""
    return csv_text if len(csv_text.strip().splitlines()) > 1 else None


def test_demo_users_sign_in_with_the_printed_passwords_and_are_new_each_run(clean_db):
    from callbacks.demo import demo_users
    from users import store as accounts

    for name in ("healthy", "flaky", "buggy"):
        brands.add_brand(clean_db, name, "http://127.0.0.1:9")
    first = demo_users(clean_db)
    second = demo_users(clean_db)  # a second run of the demo on the same database
    assert [(u.name, u.role, u.brands) for u, _ in second] == [
        ("demo-admin", "admin", None),
        ("demo-manager", "integration_manager", frozenset({"healthy", "flaky", "buggy"})),
        ("demo-analyst", "analyst", frozenset({"healthy"}))]
    with clean_db.connect() as conn:
        for (user, old), (_, new) in zip(first, second, strict=False):
            _, hashed = accounts.account(conn, user.name)
            assert accounts.verify_password(hashed, new) and old != new
            assert not accounts.verify_password(hashed, old)
