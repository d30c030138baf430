"""Past reconciliations: each one people ran, kept with who ran it, its summary and the bets that
did not match (``sql/reconcile.sql``, tables of migration 026).

The ledger file itself is kept only when asked (``ledger_file``); otherwise it is processed and
forgotten. Writes go through whatever engine the caller gives: the owner's for
``callbacks reconcile``, the ``callbacks_reconciler`` role for the back-office, whose row-level
security admits only reconciliations of the brands in its verified scope. Reads go through the
back-office reader, which sees only its brands' reconciliations.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

import sql
from contract.payouts import format_amount

from .run import Report, Scope
from .verdicts import PRECEDENCE, Verdict

_FILE = "reconcile.sql"
#: Most past reconciliations listed at once.
PAST_LIMIT = 200
#: Where a reconciliation was run from.
SOURCES = ("cli", "dashboard")


@dataclass(frozen=True)
class Reconciliation:
    """A recorded reconciliation, without its bets or its ledger file."""

    id: int
    brand_id: int
    brand: str
    run_by: str
    source: str
    run_at: datetime
    ledger_name: str
    ledger_kind: str
    ledger_rows: int
    by_request: bool
    since: datetime | None
    until: datetime | None
    bets: int
    callbacks: int
    all_match: bool
    #: ``Summary.rows()`` as recorded: verdict, currency, bets, expected, booked, difference.
    summary: list[dict]
    left_out: int
    seconds: float
    #: The ledger file was kept with the report.
    kept_file: bool

    @property
    def matching(self) -> int:
        return sum(r["bets"] for r in self.summary if r["verdict"] == Verdict.MATCH)

    @property
    def not_matching(self) -> int:
        return self.bets - self.matching


def save(engine: sa.Engine, scope: Scope, report: Report, run_by: str,
         ledger_file: bytes | None = None, *, source: str = "dashboard") -> int:
    """Record ``report`` (a reconciliation of ``scope``'s brand) as run by ``run_by``, with the
    bets it kept; ``ledger_file`` is stored only when given. Returns the new id. One
    transaction: the reconciliation is recorded whole or not at all."""
    if source not in SOURCES:
        raise ValueError(f"source {source!r} is not one of {SOURCES}")
    info = report.ledger
    record = dict(
        brand_id=scope.brand_id, run_by=run_by, source=source, run_at=report.started_at,
        ledger_name=info.name, ledger_kind=info.kind, ledger_rows=info.rows,
        by_request=info.by_request, since=report.since, until=report.until,
        bets=report.summary.bets, callbacks=report.callbacks, all_match=report.all_match,
        summary=json.dumps(report.summary.rows()), left_out=report.left_out,
        seconds=round(report.seconds, 3), ledger_file=ledger_file)
    rows = []
    for result in report.mismatches:
        row = report.bet_row(result)
        rows.append(dict(bet_id=row["bet_id"], verdict=row["verdict"], currency=row["currency"],
                         expected=str(result.expected), booked=str(result.booked),
                         difference=str(result.difference), player_id=row["player_id"],
                         request_ids=row["request_ids"], attempt_ids=row["attempt_ids"],
                         detail=row["detail"]))
    with engine.begin() as conn:
        new_id = conn.execute(sql.query(_FILE, "add_reconciliation"), record).scalar_one()
        if rows:
            conn.execute(sql.query(_FILE, "add_reconciliation_bets"),
                         dict(reconciliation_id=new_id, rows=json.dumps(rows)))
    return new_id


def past(engine: sa.Engine, brand_ids=None, limit: int = PAST_LIMIT) -> list[Reconciliation]:
    """The newest reconciliations of ``brand_ids`` (None: every brand ``engine`` sees), newest
    first, at most ``limit``."""
    ids = None if brand_ids is None else sorted(int(i) for i in brand_ids)
    with engine.begin() as conn:
        found = conn.execute(sql.query(_FILE, "past_reconciliations"),
                             dict(brand_ids=ids, limit=int(limit))).mappings().all()
    return [Reconciliation(**row) for row in found]


def bets_of(engine: sa.Engine, reconciliation_id: int) -> list[dict]:
    """The non-matching bets a reconciliation kept, most telling verdict first, as report rows
    (amounts as text, like the report's CSV); empty when it is not visible."""
    with engine.begin() as conn:
        found = conn.execute(sql.query(_FILE, "reconciliation_bets"),
                             dict(reconciliation_id=int(reconciliation_id))).mappings().all()
    order = {str(v): i for i, v in enumerate(PRECEDENCE)}
    rows = [{**row, **{k: format_amount(row[k]) for k in ("expected", "booked", "difference")}}
            for row in found]
    return sorted(rows, key=lambda r: (order.get(r["verdict"], len(order)), r["bet_id"]))


def ledger_file_of(engine: sa.Engine, reconciliation_id: int) -> tuple[str, bytes] | None:
    """``(ledger name, file)`` kept with a reconciliation; None when it was not kept or the
    reconciliation is not visible."""
    with engine.begin() as conn:
        row = conn.execute(sql.query(_FILE, "reconciliation_ledger_file"),
                           dict(reconciliation_id=int(reconciliation_id))).first()
    if row is None or row.ledger_file is None:
        return None
    return row.ledger_name, bytes(row.ledger_file)

