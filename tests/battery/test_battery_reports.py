"""Reports for CI and people: JSON, JUnit XML, console lines and run comparison."""
import json
from xml.etree import ElementTree as ET

import pytest
from battery_testkit import closed_port_url, run_against, sandbox, unlike_sandbox

from battery import reports
from battery.results import CANCELLED, FAILED, SUCCESS
from battery.suite import CASES
from sandbox import bugs

N = len(CASES)


@pytest.fixture(scope="module")
def decline_bug_run():
    with sandbox(bugs.NO_RELEASE_ON_DECLINE) as platform:
        return run_against(platform.url)


@pytest.fixture(scope="module")
def cancelled_run():
    return run_against(closed_port_url())


def test_the_json_report_lists_every_case_with_its_steps(decline_bug_run):
    report = json.loads(reports.dumps(decline_bug_run))
    assert report["status"] == FAILED and report["cases_passed"] == N - 1
    assert report["cases_total"] == N
    assert [c["number"] for c in report["cases"]] == list(range(1, N + 1))
    decline = report["cases"][5]
    assert (decline["name"], decline["group"], decline["status"]) == ("decline", "single", FAILED)
    assert decline["failed_step"] == {"position": 5, "label": "balance probe",
                                      "destination": "/bet/place"}
    assert decline["message"].startswith("the hold was not released on decline")
    # And every step carries what was sent and what came back
    for step in decline["steps"]:
        assert step["request"]["url"].endswith(step["destination"])
        assert step["request"]["body"]["request_id"] == step["request_id"]
        assert step["response"]["status"] in (204, 400)
    assert report["cases"][0]["status"] == SUCCESS and report["cases"][0]["failed_step"] is None


def test_the_json_report_never_holds_the_session_token(decline_bug_run):
    from battery_testkit import TOKEN

    assert TOKEN not in reports.dumps(decline_bug_run)


def test_junit_has_a_testcase_per_case_and_the_failure_with_its_steps(decline_bug_run):
    suite = ET.fromstring(reports.junit_xml(decline_bug_run))
    assert (suite.get("tests"), suite.get("failures"), suite.get("skipped")) == (str(N), "1", "0")
    assert len(suite.findall("testcase")) == N
    cases = suite.findall("testcase")
    assert [c.get("name") for c in cases][5] == "06 single / decline"
    failure = cases[5].find("failure")
    assert failure.get("message").startswith("the hold was not released on decline")
    assert " 4. decline → /bet/decline: ok" in failure.text
    assert " 5. balance probe → /bet/place: FAILED" in failure.text
    assert all(c.find("failure") is None for i, c in enumerate(cases) if i != 5)


def test_junit_skips_the_cases_a_cancelled_run_never_ran(cancelled_run):
    suite = ET.fromstring(reports.junit_xml(cancelled_run))
    assert (suite.get("failures"), suite.get("skipped")) == ("0", str(N))
    assert "got no answer" in suite.find("testcase/skipped").get("message")


def test_console_lines_and_summary(decline_bug_run, cancelled_run):
    line = reports.case_line(decline_bug_run.cases[5], N)
    assert line.startswith(f"[ 6/{N}] FAIL  single / decline  (")
    assert "\n         the hold was not released on decline" in line
    assert reports.summary(decline_bug_run).startswith(
        f"Status: Failed — {N - 1} of {N} cases passed, 1 failed, in ")
    assert "\nCancelled: /bet/place at " in reports.summary(cancelled_run)


def test_ticks_mark_each_callback_and_what_was_not_sent(decline_bug_run, cancelled_run):
    assert reports.ticks(decline_bug_run.cases[5]) == "✓✓✓✓✗"
    assert reports.ticks(decline_bug_run.cases[0]) == "✓✓✓✓✓✓"
    assert reports.ticks(cancelled_run.cases[0]) == "······"


def test_comparing_two_runs_marks_the_cases_that_changed(decline_bug_run, cancelled_run):
    rows = reports.compare_runs(decline_bug_run, cancelled_run)
    assert len(rows) == N and all(r["changed"] for r in rows)
    same = reports.compare_runs(decline_bug_run, decline_bug_run)
    assert not any(r["changed"] for r in same)
    assert same[5]["before"] == same[5]["after"] == FAILED
    assert rows[0]["after"] == CANCELLED


# --- the preflight in every report ------------------------------------------------------------

@pytest.fixture(scope="module")
def preflight_run():
    """A platform without /bet/unsettle that answers success with 201: an error and a warning."""
    with unlike_sandbox(without=("/bet/unsettle",), success_status=201) as (url, _):
        return run_against(url)


def test_the_json_report_holds_the_preflight_checks_and_findings(preflight_run):
    report = json.loads(reports.dumps(preflight_run))
    preflight = report["preflight"]
    assert [c["destination"] for c in preflight["checks"]][:2] == ["/bet/place", "/heartbeat"]
    levels = [(f["level"], f["text"].split(" (")[0].split(",")[0]) for f in preflight["findings"]]
    assert levels == [("error", "endpoint missing: /bet/unsettle"),
                      ("warning", "success came back as 201")]


def test_junit_carries_the_findings_as_properties_and_output(preflight_run):
    suite = ET.fromstring(reports.junit_xml(preflight_run))
    properties = {p.get("name"): p.get("value") for p in suite.findall("properties/property")}
    assert properties["preflight.error"].startswith("endpoint missing: /bet/unsettle")
    assert properties["preflight.warning"].startswith("success came back as 201, not 204")
    out = suite.find("system-out").text
    assert "✗ is /bet/unsettle there?" in out and "ERROR    endpoint missing" in out


def test_the_console_shows_each_preflight_check_and_the_findings(preflight_run):
    lines = reports.preflight_lines(preflight_run)
    assert lines[0].startswith("  ✓ preflight balance probe") and lines[0].endswith("400")
    assert any(line.startswith("  ✗ is /bet/unsettle there?") and line.endswith("404")
               for line in lines)
    assert lines[-1].startswith("  WARNING  success came back as 201")


def test_a_stored_preflight_reads_back_and_an_old_single_probe_too(preflight_run):
    row = {"base_url": "u", "status": "failed", "started_at": None, "triggered_by": "x",
           "reason": None, "finished_at": None, "duration_ms": 1.0, "id": 1, "timeout_s": 2.0,
           "preflight": json.loads(json.dumps(reports.preflight_json(preflight_run)))}
    loaded = reports.run_from_rows(row, [], [])
    assert loaded.findings == preflight_run.findings
    assert [c.label for c in loaded.preflight] == [c.label for c in preflight_run.preflight]
    old = dict(row, preflight=reports.step_json(preflight_run.preflight[0]))
    assert [c.label for c in reports.run_from_rows(old, [], []).preflight] == [
        "preflight balance probe"]
