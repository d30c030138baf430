"""Reports for CI and people: JSON, JUnit XML, console lines and run comparison."""
import json
from xml.etree import ElementTree as ET

import pytest

from battery import reports
from battery.results import CANCELLED, FAILED, SUCCESS
from sandbox import bugs
from battery_testkit import closed_port_url, run_against, sandbox


@pytest.fixture(scope="module")
def decline_bug_run():
    with sandbox(bugs.NO_RELEASE_ON_DECLINE) as platform:
        return run_against(platform.url)


@pytest.fixture(scope="module")
def cancelled_run():
    return run_against(closed_port_url())


def test_the_json_report_lists_every_case_with_its_steps(decline_bug_run):
    report = json.loads(reports.dumps(decline_bug_run))
    assert report["status"] == FAILED and report["cases_passed"] == 19
    assert [c["number"] for c in report["cases"]] == list(range(1, 21))
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


def test_junit_has_twenty_testcases_and_the_failure_with_its_steps(decline_bug_run):
    suite = ET.fromstring(reports.junit_xml(decline_bug_run))
    assert (suite.get("tests"), suite.get("failures"), suite.get("skipped")) == ("20", "1", "0")
    cases = suite.findall("testcase")
    assert [c.get("name") for c in cases][5] == "06 single / decline"
    failure = cases[5].find("failure")
    assert failure.get("message").startswith("the hold was not released on decline")
    assert " 4. decline → /bet/decline: ok" in failure.text
    assert " 5. balance probe → /bet/place: FAILED" in failure.text
    assert all(c.find("failure") is None for i, c in enumerate(cases) if i != 5)


def test_junit_skips_the_cases_a_cancelled_run_never_ran(cancelled_run):
    suite = ET.fromstring(reports.junit_xml(cancelled_run))
    assert (suite.get("failures"), suite.get("skipped")) == ("0", "20")
    assert "got no answer" in suite.find("testcase/skipped").get("message")


def test_console_lines_and_summary(decline_bug_run, cancelled_run):
    line = reports.case_line(decline_bug_run.cases[5], 20)
    assert line.startswith("[ 6/20] FAIL  single / decline  (")
    assert "\n         the hold was not released on decline" in line
    assert reports.summary(decline_bug_run).startswith(
        "Status: Failed — 19 of 20 cases passed, 1 failed, in ")
    assert "\nCancelled: /bet/place at " in reports.summary(cancelled_run)


def test_ticks_mark_each_callback_and_what_was_not_sent(decline_bug_run, cancelled_run):
    assert reports.ticks(decline_bug_run.cases[5]) == "✓✓✓✓✗"
    assert reports.ticks(decline_bug_run.cases[0]) == "✓✓✓✓✓✓"
    assert reports.ticks(cancelled_run.cases[0]) == "······"


def test_comparing_two_runs_marks_the_cases_that_changed(decline_bug_run, cancelled_run):
    rows = reports.compare_runs(decline_bug_run, cancelled_run)
    assert len(rows) == 20 and all(r["changed"] for r in rows)
    same = reports.compare_runs(decline_bug_run, decline_bug_run)
    assert not any(r["changed"] for r in same)
    assert same[5]["before"] == same[5]["after"] == FAILED
    assert rows[0]["after"] == CANCELLED
