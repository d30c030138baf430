"""Integration battery results for people and for CI: console lines, the JSON report, JUnit XML,
runs rebuilt from stored rows, and the comparison of two runs. Pure functions of results."""
from __future__ import annotations

import json
from datetime import datetime
from xml.etree import ElementTree as ET

from battery.results import (
    CANCELLED,
    FAILED,
    SUCCESS,
    CaseResult,
    Finding,
    RunResult,
    StepResult,
)

#: Version of the JSON report's layout (2: ``preflight`` holds its checks and findings).
REPORT_VERSION = 2
_MARK = {SUCCESS: "PASS", FAILED: "FAIL", CANCELLED: "----"}


# --- console ------------------------------------------------------------------------------

def case_line(case: CaseResult, total: int) -> str:
    """``[ 6/20] FAIL  single / decline  (12 ms) — <message>``."""
    text = (f"[{case.number:>2}/{total}] {_MARK[case.status]}  {case.group} / {case.name}"
            f"  ({case.duration_ms:.0f} ms)")
    return text + (f"\n         {case.message}" if case.message else "")


def summary(run: RunResult) -> str:
    """The closing lines: status, counts, duration, the findings, and the reason of a
    cancellation."""
    took = f"{(run.duration_ms or 0) / 1000:.2f} s"
    lines = [f"Status: {run.status.capitalize()} — {run.passed} of {len(run.cases)} cases passed, "
             f"{run.failed} failed, in {took}"]
    lines += [finding_line(f) for f in run.findings]
    if run.status == CANCELLED and run.reason:
        lines.append(f"Cancelled: {run.reason}")
    return "\n".join(lines)


def finding_line(finding: Finding) -> str:
    """``ERROR    endpoint missing: /heartbeat (...)`` or ``WARNING  success came back ...``."""
    return f"{finding.level.upper():<8} {finding.text}"


def preflight_lines(run: RunResult) -> list[str]:
    """The preflight for a terminal: one line per check, then what it found."""
    lines = []
    for check in run.preflight:
        mark = "↺" if check.cleanup else "✓" if check.passed else "✗"
        response = check.response
        got = response.get("status") or f"no answer ({response.get('error_class')})"
        lines.append(f"  {mark} {check.label:<44} {check.destination:<32} {got}")
    return lines + [f"  {finding_line(f)}" for f in run.findings]


def ticks(case: CaseResult) -> str:
    """One mark per callback of the case: ✓ met, ✗ not met, · not sent; then ↺ per cleanup."""
    judged = ["✓" if s.passed else "✗" for s in case.steps if not s.cleanup]
    cleanup = "↺" * sum(1 for s in case.steps if s.cleanup)
    return "".join(judged) + "·" * max(0, case.steps_planned - len(judged)) + cleanup


# --- JSON ---------------------------------------------------------------------------------

def step_json(step: StepResult) -> dict:
    """A step as stored and reported: what was sent, what came back, the judgement."""
    return {"position": step.position, "label": step.label, "destination": step.destination,
            "bet_id": step.bet_id, "request_id": step.request_id, "expected": step.expected,
            "passed": step.passed, "cleanup": step.cleanup, "message": step.message,
            "request": step.request, "response": step.response}


def case_json(case: CaseResult) -> dict:
    failing = next((s for s in case.steps if s.position == case.failed_step and not s.cleanup),
                   None)
    return {"number": case.number, "name": case.name, "group": case.group,
            "checks": case.checks, "status": case.status,
            "failed_step": None if failing is None else {
                "position": failing.position, "label": failing.label,
                "destination": failing.destination},
            "message": case.message, "duration_ms": case.duration_ms,
            "steps": [step_json(s) for s in case.steps]}


def run_json(run: RunResult) -> dict:
    """The whole run, every case and every step's request and response."""
    return {"version": REPORT_VERSION, "run_id": run.run_id, "base_url": run.base_url,
            "status": run.status, "reason": run.reason, "triggered_by": run.triggered_by,
            "started_at": _iso(run.started_at), "finished_at": _iso(run.finished_at),
            "duration_ms": run.duration_ms, "timeout_s": run.timeout_s,
            "cases_total": len(run.cases), "cases_passed": run.passed,
            "cases_failed": run.failed,
            "preflight": preflight_json(run), "cases": [case_json(c) for c in run.cases]}


def preflight_json(run: RunResult) -> dict:
    """The preflight as stored and reported: every check, and the run's findings (errors fail
    the run, warnings do not)."""
    return {"checks": [step_json(s) for s in run.preflight],
            "findings": [f.as_dict() for f in run.findings]}


def dumps(run: RunResult) -> str:
    return json.dumps(run_json(run), indent=2, default=str, ensure_ascii=False)


# --- JUnit XML ----------------------------------------------------------------------------

def junit_xml(run: RunResult) -> str:
    """One ``<testsuite>`` with a ``<testcase>`` per case: failures carry the message and the
    steps; cases not run because the pipeline was cancelled are skipped with the reason. The
    preflight's findings are suite properties (``preflight.error``, ``preflight.warning``) and the
    suite's ``<system-out>``."""
    suite = ET.Element("testsuite", {
        "name": "callback integration battery", "tests": str(len(run.cases)),
        "failures": str(run.failed),
        "skipped": str(sum(1 for c in run.cases if c.status == CANCELLED)),
        "errors": "0", "time": f"{(run.duration_ms or 0) / 1000:.3f}",
        "timestamp": _iso(run.started_at) or ""})
    properties = ET.SubElement(suite, "properties")
    ET.SubElement(properties, "property", {"name": "base_url", "value": run.base_url})
    for finding in run.findings:
        ET.SubElement(properties, "property",
                      {"name": f"preflight.{finding.level}", "value": finding.text})
    for case in run.cases:
        element = ET.SubElement(suite, "testcase", {
            "classname": f"battery.{case.group.replace(' ', '_')}",
            "name": f"{case.number:02d} {case.group} / {case.name}",
            "time": f"{case.duration_ms / 1000:.3f}"})
        if case.status == FAILED:
            failure = ET.SubElement(element, "failure", {"message": case.message or "failed"})
            failure.text = _step_log(case)
        elif case.status == CANCELLED:
            ET.SubElement(element, "skipped",
                          {"message": f"pipeline cancelled: {run.reason or 'not run'}"})
    ET.SubElement(suite, "system-out").text = "\n".join(["Preflight:", *preflight_lines(run)])
    return ET.tostring(suite, encoding="unicode", xml_declaration=True)


def _step_log(case: CaseResult) -> str:
    lines = []
    for step in case.steps:
        mark = "cleanup" if step.cleanup else "ok" if step.passed else "FAILED"
        response = step.response
        got = response.get("status") or f"no answer ({response.get('error_class')})"
        lines.append(f"{step.position:>2}. {step.label} → {step.destination}: {mark}; "
                     f"expected {step.expected}; got {got} {response.get('body') or ''}".rstrip())
    return "\n".join(lines)


# --- stored runs ----------------------------------------------------------------------------

def run_from_rows(run: dict, cases: list[dict], steps: list[dict]) -> RunResult:
    """A stored run (rows of ``sql/integration.sql``'s run, run_cases and run_steps)."""
    by_case: dict[int, list[StepResult]] = {}
    for row in steps:
        by_case.setdefault(row["case_number"], []).append(_step_from_row(row))
    result = RunResult(
        run["base_url"], run["status"], run["started_at"], run["triggered_by"],
        [CaseResult(c["number"], c["case_group"], c["name"], c["checks"], c["status"],
                    c["steps_planned"], by_case.get(c["number"], []), c["failed_step"],
                    c["message"], c["duration_ms"] or 0.0) for c in cases],
        reason=run["reason"], finished_at=run["finished_at"], duration_ms=run["duration_ms"],
        run_id=run["id"], timeout_s=run["timeout_s"], brand=run.get("brand"))
    stored = run.get("preflight") or {}
    if "position" in stored:  # a run stored before the preflight had checks: its one probe
        stored = {"checks": [stored]}
    result.preflight = [_step_from_row(row) for row in stored.get("checks", [])]
    result.findings = [Finding(f["level"], f["text"]) for f in stored.get("findings", [])]
    return result


def _step_from_row(row: dict) -> StepResult:
    return StepResult(row["position"], row["label"], row["destination"], row["bet_id"],
                      row["request_id"], row["expected"], row["passed"], row["message"],
                      row["request"], row["response"], bool(row.get("cleanup")))


def compare_runs(before: RunResult, after: RunResult) -> list[dict]:
    """Case by case, side by side: statuses, messages, and whether the case changed."""
    after_cases = {c.number: c for c in after.cases}
    rows = []
    for case in before.cases:
        other = after_cases.get(case.number)
        rows.append({"number": case.number, "group": case.group, "name": case.name,
                     "before": case.status, "after": other.status if other else None,
                     "changed": other is None or other.status != case.status,
                     "before_message": case.message,
                     "after_message": other.message if other else None})
    return rows


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None
