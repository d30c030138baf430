"""`callbacks alert ...` as a person runs it: in this process (:func:`cli.run_cli`), real
database."""
import json

import pytest
import sqlalchemy as sa
from cli import Result, run_cli


def callbacks(database_url, *args) -> Result:
    return run_cli(*args, env={"DATABASE_URL": database_url})


@pytest.fixture
def acme(clean_db, database_url):
    done = callbacks(database_url, "brand", "add", "acme", "--url", "http://127.0.0.1:9",
                     "--currency", "eur")
    assert done.returncode == 0, done.stderr
    return database_url


def test_rules_are_set_per_brand_and_by_default(acme):
    done = callbacks(acme, "alert", "rule", "set", "failure_rate", "--threshold", "30%",
                     "--window", "5m", "--brand", "acme")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == ("acme: failure rate above 30 % over 5 min; resolves at or "
                                   "below 24 % for 5 min; judged from 20 attempts")
    done = callbacks(acme, "alert", "rule", "set", "oldest_pending", "--threshold", "2h")
    assert done.stdout.strip() == ("every brand (default): oldest pending above 2 h; resolves "
                                   "at or below 1 h 36 min for 5 min")
    callbacks(acme, "alert", "rule", "set", "exhausted", "--threshold", "0", "--off",
              "--brand", "acme")
    listed = json.loads(callbacks(acme, "alert", "rule", "list", "--json").stdout)
    by_brand = {b["brand"]: {r["kind"]: r for r in b["rules"]} for b in listed}
    assert by_brand["acme"]["failure_rate"] == {"kind": "failure_rate", "threshold": "30",
                                                "window_s": 300, "enabled": True,
                                                "resolve_below": "24", "quiet_s": 300,
                                                "min_attempts": 20, "source": "brand"}
    assert by_brand["acme"]["oldest_pending"]["source"] == "default"
    assert by_brand["acme"]["oldest_pending"]["threshold"] == "7200"
    assert by_brand["acme"]["exhausted"]["enabled"] is False
    assert by_brand[None]["money_at_risk"]["source"] == "built-in"
    text = callbacks(acme, "alert", "rule", "list", "--brand", "acme").stdout
    assert "any exhausted callback over 1 h (off)" in text
    done = callbacks(acme, "alert", "rule", "unset", "failure_rate", "--brand", "acme")
    assert "now failure rate above 25 % over 10 min (built-in)" in done.stdout


def test_a_rule_says_when_it_resolves_and_from_how_many_attempts(acme):
    done = callbacks(acme, "alert", "rule", "set", "failure_rate", "--threshold", "25%",
                     "--resolve-below", "15%", "--quiet", "10m", "--min-attempts", "50",
                     "--brand", "acme")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith("resolves at or below 15 % for 10 min; judged from "
                                        "50 attempts")
    # A new threshold keeps the quiet period and volume the rule has; the resolve threshold
    # goes back to its default share of the threshold
    done = callbacks(acme, "alert", "rule", "set", "failure_rate", "--threshold", "40",
                     "--brand", "acme")
    assert done.stdout.strip().endswith("resolves at or below 32 % for 10 min; judged "
                                        "from 50 attempts")
    listed = json.loads(callbacks(acme, "alert", "rule", "list", "--json").stdout)
    [rule] = [r for b in listed if b["brand"] == "acme" for r in b["rules"]
              if r["kind"] == "failure_rate"]
    assert (rule["quiet_s"], rule["min_attempts"]) == (600, 50)
    done = callbacks(acme, "alert", "rule", "set", "money_at_risk", "--threshold", "1000",
                     "--resolve-below", "500", "--quiet", "0")
    assert done.stdout.strip().endswith("resolves at or below 500")


@pytest.mark.parametrize("args, message", [
    (("failure_rate", "--threshold", "150"), "is a percentage: 0 to 100"),
    (("oldest_pending", "--threshold", "soon"), "is not a duration"),
    (("exhausted", "--threshold", "1.5"), "a whole number"),
    (("money_at_risk", "--threshold", "-3"), "must be a number of 0 or more"),
    (("money_at_risk", "--threshold", "5", "--window", "1h"), "has no window"),
    (("exhausted", "--threshold", "0", "--brand", "nobody"), "no brand named 'nobody'"),
    (("failure_rate", "--threshold", "25", "--resolve-below", "30"),
     "--resolve-below '30' is above --threshold '25': a rule resolves at or below where it "
     "fires"),
    (("failure_rate", "--threshold", "25", "--resolve-below", "x"),
     "--resolve-below 'x' must be a number of 0 or more"),
    (("oldest_pending", "--threshold", "15m", "--resolve-below", "later"),
     "--resolve-below 'later' is not a duration"),
    (("failure_rate", "--threshold", "25", "--quiet", "a while"),
     "--quiet 'a while' is not a duration"),
    (("failure_rate", "--threshold", "25", "--min-attempts", "0"),
     "--min-attempts '0' must be a whole number of 1 or more"),
    (("exhausted", "--threshold", "0", "--min-attempts", "5"),
     "--min-attempts applies to failure_rate, heartbeat_failure_rate only"),
])
def test_bad_rules_are_refused_with_a_reason(acme, args, message):
    done = callbacks(acme, "alert", "rule", "set", *args)
    assert done.returncode == 2 and done.stderr.startswith("error: ")
    assert message in done.stderr


def test_urls_are_added_listed_and_removed(acme):
    assert callbacks(acme, "alert", "url", "add", "https://hooks.example/T1").returncode == 0
    again = callbacks(acme, "alert", "url", "add", "https://hooks.example/T1")
    assert "is an alert URL already" in again.stdout
    assert callbacks(acme, "alert", "url", "add", "hooks.example").returncode == 2
    listed = json.loads(callbacks(acme, "alert", "url", "list", "--json").stdout)
    assert [u["url"] for u in listed] == ["https://hooks.example/T1"]
    done = callbacks(acme, "alert", "url", "remove", str(listed[0]["id"]))
    assert done.stdout.strip() == "no more alerts to https://hooks.example/T1"
    missing = callbacks(acme, "alert", "url", "remove", "https://hooks.example/T1")
    assert missing.returncode == 2 and "no alert URL" in missing.stderr
    assert "no alert URLs" in callbacks(acme, "alert", "url", "list").stdout


def test_evaluate_and_history(acme):
    callbacks(acme, "alert", "rule", "set", "oldest_pending", "--threshold", "1")
    with sa.create_engine(acme).begin() as conn:
        brand = conn.execute(sa.text("SELECT id FROM brands WHERE name = 'acme'")).scalar()
        conn.execute(sa.text(
            "INSERT INTO bets (bet_id, brand_id, status) VALUES ('b1', :b, 'NEW');"
            "INSERT INTO callbacks (request_id, brand_id, bet_id, destination, payload, state,"
            " next_attempt_at, created_at) VALUES ('r1', :b, 'b1', '/bet/settle',"
            " '{\"settle_amount\": \"5.00\"}', 'pending', now(), now() - interval '1 minute')"),
            {"b": brand})
    done = callbacks(acme, "alert", "evaluate")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("firing   acme             oldest_pending  oldest "
                                  "undelivered callback waiting 1 min")
    assert "no rule started or stopped firing" in callbacks(acme, "alert", "evaluate").stdout
    history = callbacks(acme, "alert", "history", "--brand", "acme")
    assert "firing" in history.stdout and "[no alert URL]" in history.stdout


def test_alert_urls_follow_the_url_rule_and_carry_no_credentials(acme):
    refused = callbacks(acme, "alert", "url", "add", "https://ops:s3cret@hooks.example/T1")
    assert refused.returncode == 2
    assert "alert URL 'https://ops:***@hooks.example/T1' carries credentials" in refused.stderr
    assert "s3cret" not in refused.stderr
    fragment = callbacks(acme, "alert", "url", "add", "https://hooks.example/T1#x")
    assert fragment.returncode == 2 and "has a fragment" in fragment.stderr
    added = callbacks(acme, "alert", "url", "add", "HTTPS://Hooks.example/T1?token=abc")
    assert added.stdout.strip() == "alerts will be posted to https://hooks.example/T1?token=abc"
    # One added before the rule, with credentials: still there, never shown.
    with sa.create_engine(acme).begin() as conn:
        conn.execute(sa.text("INSERT INTO alert_urls (url) VALUES "
                             "('https://ops:s3cret@old.example/hook')"))
    listed = callbacks(acme, "alert", "url", "list")
    as_json = callbacks(acme, "alert", "url", "list", "--json")
    assert "https://ops:***@old.example/hook" in listed.stdout
    assert [u["url"] for u in json.loads(as_json.stdout)] == [
        "https://hooks.example/T1?token=abc", "https://ops:***@old.example/hook"]
    removed = callbacks(acme, "alert", "url", "remove", "https://ops:s3cret@old.example/hook")
    assert removed.stdout.strip() == "no more alerts to https://ops:***@old.example/hook"
    assert "s3cret" not in listed.stdout + as_json.stdout + removed.stdout
