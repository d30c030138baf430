"""``callbacks integration-test`` as a CI job runs it: exit codes, live lines, report files."""
import argparse
import base64
import json
from xml.etree import ElementTree as ET

import sqlalchemy as sa
from battery_testkit import TOKEN, closed_port_url, guarded_sandbox, sandbox, unlike_sandbox

from battery.cli import FOREIGN_PARAMS_ENV, TOKEN_ENV, register
from battery.suite import CASES
from delivery import brands
from sandbox import bugs

N = len(CASES)


def integration_test(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="callbacks")
    register(parser.add_subparsers())
    args = parser.parse_args(["integration-test", *argv])
    return args.func(args)


def test_every_case_passing_exits_0_with_the_preflight_and_a_line_per_case(capsys, tmp_path):
    with sandbox() as platform:
        code = integration_test("--url", platform.url, "--token", TOKEN,
                                "--json", str(tmp_path / "out" / "report.json"),
                                "--junit", str(tmp_path / "out" / "junit.xml"))
    out = capsys.readouterr().out
    assert code == 0
    lines = [line for line in out.splitlines() if line.startswith("[")]
    assert len(lines) == N and all(" PASS " in line for line in lines)
    assert f"Integration test of {platform.url} — {N} cases" in out
    assert "Preflight:\n  ✓ preflight balance probe" in out and "✓ heartbeat" in out
    assert f"Status: Success — {N} of {N} cases passed" in out
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["status"] == "success" and len(report["cases"]) == N
    assert ET.parse(tmp_path / "out" / "junit.xml").getroot().get("failures") == "0"


def test_a_failing_case_exits_1_and_says_why(capsys):
    with sandbox(bugs.HALF_WIN_AS_WIN) as platform:
        code = integration_test("--url", platform.url, "--token", TOKEN)
    out = capsys.readouterr().out
    assert code == 1
    assert f"[ 3/{N}] FAIL  single / half-win" in out
    assert "a half-win was not credited stake × (odds + 1) / 2 (15.00)" in out


def test_an_unreachable_platform_exits_2_with_the_reason(capsys):
    code = integration_test("--url", closed_port_url(), "--token", TOKEN, "--timeout-s", "1")
    out = capsys.readouterr().out
    assert code == 2
    assert "Status: Cancelled" in out and "the endpoint is unreachable" in out


def test_the_token_can_come_from_the_environment(capsys, monkeypatch):
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    with sandbox() as platform:
        assert integration_test("--url", platform.url) == 0


def test_foreign_params_are_sent_exactly_with_the_platforms_own_key(capsys, tmp_path):
    with sandbox(session_key="session_id") as platform:
        code = integration_test("--url", platform.url, "--foreign-params",
                                f'{{"session_id": "{TOKEN}", "internal_player_id": 42}}',
                                "--json", str(tmp_path / "report.json"))
    assert code == 0, capsys.readouterr().out
    report = (tmp_path / "report.json").read_text()
    # sent as given; reported with every value masked (no brand: no fingerprint key)
    assert '\\"internal_player_id\\":\\"***\\"' in report and TOKEN not in report


def test_foreign_params_can_come_from_the_environment(capsys, monkeypatch):
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    monkeypatch.setenv(FOREIGN_PARAMS_ENV, f'{{"token": "{TOKEN}"}}')
    with sandbox() as platform:
        assert integration_test("--url", platform.url) == 0


def test_a_missing_endpoint_exits_1_and_the_output_names_it(capsys):
    with unlike_sandbox(without=("/bet/cash-out-orders/declined",)) as (url, _):
        code = integration_test("--url", url, "--token", TOKEN)
    out = capsys.readouterr().out
    assert code == 1
    assert "  ✗ is /bet/cash-out-orders/declined there?" in out
    assert "ERROR    endpoint missing: /bet/cash-out-orders/declined" in out


def test_missing_or_bad_session_or_url_exit_2_naming_the_option(capsys, monkeypatch):
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    monkeypatch.delenv(FOREIGN_PARAMS_ENV, raising=False)
    assert integration_test("--url", "http://127.0.0.1:9") == 2
    assert "--foreign-params (or --token) is required" in capsys.readouterr().err
    assert integration_test("--url", "http://127.0.0.1:9", "--foreign-params", "{nope") == 2
    assert "--foreign-params '{nope' is not JSON" in capsys.readouterr().err
    assert integration_test("--url", "http://127.0.0.1:9", "--foreign-params", "[]") == 2
    assert "must be a non-empty JSON object" in capsys.readouterr().err
    assert integration_test("--url", "http://127.0.0.1:9", "--foreign-params",
                            '{"session_id": ""}') == 2
    assert "--foreign-params.session_id must be a non-empty string" in capsys.readouterr().err
    assert integration_test("--url", "http://127.0.0.1:9", "--token", "t",
                            "--foreign-params", '{"a": "b"}') == 2
    assert "not both" in capsys.readouterr().err
    assert integration_test("--url", "ftp://x", "--token", "t") == 2
    assert "must start with http:// or https://" in capsys.readouterr().err
    assert integration_test("--token", "t") == 2
    assert "--url is required" in capsys.readouterr().err


def test_store_with_a_brand_records_the_run_in_its_history(capsys, monkeypatch, database_url,
                                                          clean_db):
    monkeypatch.setenv("DATABASE_URL", database_url)
    with sandbox() as platform:
        brands.add_brand(clean_db, "acme", platform.url)
        code = integration_test("--brand", "acme", "--store", "--token", TOKEN,
                                "--triggered-by", "ci-bot")
    out = capsys.readouterr().out
    assert code == 0 and "stored as run" in out
    with clean_db.connect() as conn:
        row = conn.execute(sa.text(
            "SELECT source, triggered_by, status, base_url FROM integration_runs")).one()
    assert tuple(row) == ("cli", "ci-bot", "success", platform.url)


def test_store_without_a_brand_is_refused(capsys):
    assert integration_test("--url", "http://127.0.0.1:9", "--token", "t", "--store") == 2
    assert "--store needs --brand NAME" in capsys.readouterr().err


def test_url_credentials_and_query_go_with_every_request_and_into_no_report(
        capsys, monkeypatch, database_url, clean_db, tmp_path):
    basic = "Basic " + base64.b64encode(b"qa:s3cret").decode()
    monkeypatch.setenv("DATABASE_URL", database_url)
    with guarded_sandbox(authorization=basic, query="k=v") as (root, seen):
        written = root.replace("http://", "http://qa:s3cret@") + "/cb?k=v"
        # Given as --url: sent, not stored, not printed.
        code = integration_test("--url", written, "--token", TOKEN,
                                "--json", str(tmp_path / "report.json"),
                                "--junit", str(tmp_path / "junit.xml"))
        assert code == 0
        # The brand's own URL, with --brand: its credentials, read as the owner.
        brands.add_brand(clean_db, "acme", written)
        assert integration_test("--brand", "acme", "--store", "--token", TOKEN) == 0
        with_them = len(seen)
        # Another URL given with --brand goes without them (and the platform refuses it).
        assert integration_test("--brand", "acme", "--url", root + "/cb?k=v&other=1",
                                "--token", TOKEN) == 1
    out = capsys.readouterr()
    assert f"Integration test of {root}/cb?k=v — {N} cases" in out.out
    assert {(q, a) for _, q, a in seen[:with_them]} == {("k=v", basic)}
    assert {(q, a) for _, q, a in seen[with_them:]} == {("k=v&other=1", None)}
    with clean_db.connect() as conn:
        assert conn.execute(sa.text("SELECT base_url FROM integration_runs")).scalar() \
            == f"{root}/cb?k=v"
        stored = "\n".join(conn.execute(sa.text(
            "SELECT s::text FROM integration_steps s")).scalars())
    for text in (out.out, out.err, stored, (tmp_path / "report.json").read_text(),
                 (tmp_path / "junit.xml").read_text()):
        assert "s3cret" not in text and basic.split()[1] not in text
