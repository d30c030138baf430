"""Stores integration battery runs in PostgreSQL as they happen (named blocks of
``sql/integration.sql``), and the battery's traffic in the ordinary queue tables.

Each step's request becomes a ``callbacks`` row (origin ``integration_test``, already in its final
state: the battery never retries) with its bet, and an ``attempts`` row written exactly as a worker
writes one (``store.attempt_row``), so Callback history shows battery traffic like any other and
breakdowns can leave it out by origin. A repeated ``request_id`` is one more attempt of the same
callback, as a retry would be.
"""
from __future__ import annotations

import dataclasses
import json

import sqlalchemy as sa

import contract
import sql
from battery.reports import preflight_json
from battery.results import CaseResult, RunResult, StepResult
from delivery import brands, lifecycle, store
from delivery.records import Attempt, AttemptOutcome
from delivery.requests import redact_answer, redact_params

SOURCES = ("dashboard", "cli")


def _q(name: str) -> sa.TextClause:
    return sa.text(sql.queries("integration.sql")[name])


class RunRecorder:
    """Writes one run for ``brand``: the run row at start, each case (with its steps, callbacks
    and attempts) in one transaction when it finishes, the outcome at the end."""

    def __init__(self, engine: sa.Engine, brand: brands.Brand, source: str = "dashboard"):
        if source not in SOURCES:
            raise ValueError(f"source {source!r} must be one of {SOURCES}")
        self.engine, self.brand, self.source = engine, brand, source

    def start(self, run: RunResult) -> None:
        with self.engine.begin() as conn:
            run.run_id = conn.execute(_q("insert_run"), dict(
                brand_id=self.brand.id, base_url=run.base_url,
                triggered_by=run.triggered_by or "unknown", source=self.source,
                status=run.status, timeout_s=run.timeout_s, cases_total=len(run.cases),
                started_at=run.started_at)).scalar_one()

    def case_finished(self, run: RunResult, case: CaseResult) -> None:
        with self.engine.begin() as conn:
            callback_ids = record_traffic(conn, self.brand.id, case.steps)
            conn.execute(_q("insert_case"), dict(
                run_id=run.run_id, number=case.number, case_group=case.group, name=case.name,
                checks=case.checks, status=case.status, steps_planned=case.steps_planned,
                failed_step=case.failed_step, message=case.message,
                duration_ms=case.duration_ms))
            for step in case.steps:
                conn.execute(_q("insert_step"), step_row(run.run_id, case.number, step,
                                                          callback_ids.get(id(step))))

    def finish(self, run: RunResult) -> None:
        with self.engine.begin() as conn:
            record_traffic(conn, self.brand.id, run.preflight)
            conn.execute(_q("finish_run"), dict(
                id=run.run_id, status=run.status, reason=run.reason, cases_passed=run.passed,
                cases_failed=run.failed,
                preflight=json.dumps(preflight_json(run), default=str),
                finished_at=run.finished_at, duration_ms=run.duration_ms))


def record_traffic(conn: sa.Connection, brand_id: int, steps: list[StepResult]) -> dict[int, int]:
    """Write the bet, callback and attempt of every step about a bet; ``{id(step):
    callback_id}``. The heartbeat is about a session, not a bet, so it has no callbacks row: it
    stays in the run's preflight only."""
    ids, recorded = {}, []
    for step in steps:
        if step.attempt is not None and step.bet_id:
            attempt = _record_callback(conn, brand_id, step.attempt)
            ids[id(step)] = attempt.callback.callback_id
            recorded.append(attempt)
    store.insert_attempts(conn, recorded)
    return ids


def _record_callback(conn: sa.Connection, brand_id: int, attempt: Attempt) -> Attempt:
    """Write the attempt's bet and callback; the attempt pointing at its callbacks row."""
    cb = attempt.callback
    payload = cb.payload
    row = store.lock_bet(conn, brand_id, cb.bet_id, payload, cb.destination)
    status, restrictions = bet_status_after(None if row.created else row.status, cb.destination,
                                            attempt)
    if status != row.status:
        store.set_bet_status(conn, cb.bet_id, status, restrictions)
    outcome = attempt.outcome
    callback = conn.execute(_q("record_test_callback"), dict(
        request_id=cb.request_id, brand_id=brand_id, bet_id=cb.bet_id,
        destination=cb.destination, payload=json.dumps(payload),
        foreign_params=json.dumps(redact_params(cb.foreign_params, cb.mask)),
        state=attempt.final_state,
        last_status=attempt.response_status,
        last_error=(None if outcome.kind == AttemptOutcome.DELIVERED
                    else redact_answer(attempt)[1]),
        created_at=attempt.started_at, finished_at=attempt.finished_at)).one()
    return dataclasses.replace(attempt, callback=dataclasses.replace(
        cb, callback_id=callback.id, brand_id=brand_id, created_at=callback.created_at,
        attempt_no=callback.attempts))


def bet_status_after(current: str | None, destination: str,
                     attempt: Attempt) -> tuple[str, list]:
    """The bet's status (and new restrictions) once this battery callback is decided, by the same
    rules as queued traffic: the place's outcome decides PLACED / PLACE_ERROR / DECLINED."""
    status = lifecycle.status_on_enqueue(current, destination)
    if destination != contract.PLACE:
        return status, []
    effect = lifecycle.effect_of(destination, attempt.final_state, status,
                                 attempt.outcome.error_code)
    return effect.bet_status or status, effect.restrictions


def step_row(run_id: int, case_number: int, step: StepResult, callback_id: int | None) -> dict:
    """The parameters of ``insert_step``."""
    return dict(run_id=run_id, case_number=case_number, position=step.position,
                label=step.label, destination=step.destination, bet_id=step.bet_id,
                request_id=step.request_id, attempt_id=step.response.get("attempt_id"),
                callback_id=callback_id, expected=step.expected, passed=step.passed,
                cleanup=step.cleanup, message=step.message,
                request=json.dumps(step.request, default=str),
                response=json.dumps(step.response, default=str))
