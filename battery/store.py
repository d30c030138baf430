"""Stores integration battery runs in PostgreSQL as they happen (named blocks of
``sql/integration.sql``), and the battery's traffic in the ordinary queue tables; and the URLs
registered for a brand's battery (``callbacks brand test-url``).

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
from battery.reports import preflight_json, run_from_rows
from battery.results import CaseResult, RunResult, StepResult
from delivery import audit, brands, lifecycle, store, urls
from delivery.errors import InvalidInput, UnknownBrand
from delivery.records import Attempt, AttemptOutcome
from delivery.requests import redact_answer, redact_params

SOURCES = ("dashboard", "cli")


class RunRecorder:
    """Writes one run for ``brand``: the run row at start, each case (with its steps, callbacks
    and attempts) in one transaction when it finishes, the outcome at the end."""

    def __init__(self, engine: sa.Engine, brand: brands.Brand, source: str = "dashboard"):
        if source not in SOURCES:
            raise ValueError(f"source {source!r} must be one of {SOURCES}")
        self.engine, self.brand, self.source = engine, brand, source

    def start(self, run: RunResult) -> None:
        with self.engine.begin() as conn:
            run.run_id = conn.execute(sql.query("integration.sql", "insert_run"), dict(
                brand_id=self.brand.id, base_url=run.base_url,
                triggered_by=run.triggered_by or "unknown", source=self.source,
                status=run.status, timeout_s=run.timeout_s, cases_total=len(run.cases),
                started_at=run.started_at)).scalar_one()

    def case_finished(self, run: RunResult, case: CaseResult) -> None:
        with self.engine.begin() as conn:
            callback_ids = record_traffic(conn, self.brand.id, case.steps)
            conn.execute(sql.query("integration.sql", "insert_case"), dict(
                run_id=run.run_id, number=case.number, case_group=case.group, name=case.name,
                checks=case.checks, status=case.status, steps_planned=case.steps_planned,
                failed_step=case.failed_step, message=case.message,
                duration_ms=case.duration_ms))
            for step in case.steps:
                conn.execute(sql.query("integration.sql", "insert_step"),
                             step_row(run.run_id, case.number, step,
                                                          callback_ids.get(id(step))))

    def finish(self, run: RunResult) -> None:
        with self.engine.begin() as conn:
            record_traffic(conn, self.brand.id, run.preflight)
            conn.execute(sql.query("integration.sql", "finish_run"), dict(
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
    callback = store.record_battery_callback(conn, dict(
        request_id=cb.request_id, brand_id=brand_id, bet_id=cb.bet_id,
        destination=cb.destination, payload=json.dumps(payload),
        foreign_params=json.dumps(redact_params(cb.foreign_params, cb.mask)),
        state=attempt.final_state,
        last_status=attempt.response_status,
        last_error=(None if outcome.kind == AttemptOutcome.DELIVERED
                    else redact_answer(attempt)[1]),
        created_at=attempt.started_at, finished_at=attempt.finished_at))
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


# --- the URLs a battery may run against (``callbacks brand test-url``) ---------------------

def add_test_url(engine: sa.Engine, brand: str, url: str, *, actor: audit.Actor | None = None,
                 reason: str | None = None) -> bool:
    """Register ``url`` for the brand's Integration Test; False when it was registered already.
    :class:`InvalidInput` for a URL that breaks the URL rule (:mod:`delivery.urls`) or carries
    credentials, :class:`UnknownBrand` for no brand. With ``actor`` the addition is recorded
    (``test_url.add``)."""
    url = urls.parse_without_credentials(
        url, what="test URL", instead="register it without them: the Integration Test sends "
        "the brand's credentials with the brand's own URL only")
    with engine.begin() as conn:
        added = conn.execute(sql.query("integration.sql", "add_test_url"),
                             {"brand": brand, "url": url}).first()
        if added is None:
            _require_brand(conn, brand)
        elif actor is not None:
            audit.record(conn, actor=actor, kind="test_url.add", brand_id=added.brand_id,
                         subject=url, after={"url": url}, reason=reason)
    return added is not None


def remove_test_url(engine: sa.Engine, brand: str, url: str, *,
                    actor: audit.Actor | None = None, reason: str | None = None) -> None:
    """Stop offering ``url`` for the brand's Integration Test (as typed, or as the URL rule
    writes it: scheme and host in lower case); recorded as ``test_url.remove`` with
    ``actor``."""
    url = url.strip()
    try:
        spellings = dict.fromkeys([url, urls.parse(url).url])
    except InvalidInput:
        spellings = {url: None}
    with engine.begin() as conn:
        found = [conn.execute(sql.query("integration.sql", "remove_test_url"),
                              {"brand": brand, "url": u}).first()
                 for u in spellings]
        removed = next((r for r in found if r is not None), None)
        if removed is None:
            _require_brand(conn, brand)
            shown = urls.redact(url)
            raise InvalidInput(f"{shown!r} is not a test URL of brand {brand!r}; `callbacks "
                               f"brand test-url list {brand}` shows them", field="url",
                               value=shown)
        if actor is not None:
            audit.record(conn, actor=actor, kind="test_url.remove", brand_id=removed.brand_id,
                         subject=removed.url, before={"url": removed.url}, reason=reason)


def all_test_urls(engine: sa.Engine, brand: str | None = None) -> list[dict]:
    """Every registered test URL (of one brand): ``{brand, url, added_at}``."""
    with engine.connect() as conn:
        if brand is not None:
            _require_brand(conn, brand)
        rows = conn.execute(sql.query("integration.sql", "all_test_urls"), {"brand": brand})
        return [dict(r._mapping) for r in rows]


def _require_brand(conn: sa.Connection, name: str) -> None:
    if conn.execute(sql.query("integration.sql", "brand_by_name"), {"name": name}).first() is None:
        raise UnknownBrand(f"no brand called {name!r}; `callbacks brand list` shows the brands",
                           field="brand", value=name)


# --- Reads of the Integration Test page -----------------------------------------------------
# Bounded, through whatever engine the caller reads with (the dashboard's read-only role).

#: Most runs the history panel lists.
HISTORY_LIMIT = 50


def _read_rows(engine: sa.Engine, query: str, **params) -> list[dict]:
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(sql.query("integration.sql", query), params)]


def brand_names(engine: sa.Engine) -> list[str]:
    """Every brand's name, sorted."""
    return [r["name"] for r in _read_rows(engine, "brand_names")]


def brand(engine: sa.Engine, name: str) -> dict | None:
    """``{id, name, base_url, timeout_s}`` of the brand called ``name``, or None."""
    found = _read_rows(engine, "brand_by_name", name=name)
    return found[0] if found else None


def runs_of_brand(engine: sa.Engine, brand_id: int, limit: int = HISTORY_LIMIT) -> list[dict]:
    """The brand's latest runs, newest first: status, who, when, how long, how many passed."""
    return _read_rows(engine, "runs_of_brand", brand_id=brand_id, limit=min(limit, HISTORY_LIMIT))


def load_run(engine: sa.Engine, run_id: int, brand_id: int | None = None) -> RunResult | None:
    """A stored run with its cases, steps and brand's name, or None when there is no such run
    (of that brand, when ``brand_id`` is given). Through the dashboard's read engine, only the
    runs of the signed-in user's brands are there to find."""
    found = _read_rows(engine, "run", run_id=run_id)
    if not found or (brand_id is not None and found[0]["brand_id"] != brand_id):
        return None
    return run_from_rows(found[0], _read_rows(engine, "run_cases", run_id=run_id),
                         _read_rows(engine, "run_steps", run_id=run_id))


def test_urls(engine: sa.Engine, brand_id: int) -> list[str]:
    """The brand's own URL first, then those registered for testing it, oldest first."""
    return [r["url"] for r in _read_rows(engine, "test_urls", brand_id=brand_id)]
