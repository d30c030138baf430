"""Recorded reconciliations for tests of their history and the Reconcile page: a brand and a
report of a ledger whose bets we never sent (cheap: no traffic, no sandbox)."""
from __future__ import annotations

import csv
from pathlib import Path

import sqlalchemy as sa

from delivery import brands
from reconcile import run


def brand_id(engine: sa.Engine, name: str) -> int:
    """The id of brand ``name``, added (wallets in EUR) when it is not there yet."""
    with engine.connect() as conn:
        found = conn.execute(sa.text("SELECT id FROM brands WHERE name = :n"),
                             {"n": name}).scalar()
    if found is not None:
        return found
    new = brands.add_brand(engine, name, "http://127.0.0.1:9")
    brands.set_brand_currency(engine, name, "EUR")
    return new.id


def stranger_report(engine: sa.Engine, name: str, folder: Path
                    ) -> tuple[run.Scope, run.Report]:
    """Brand ``name`` and a reconciliation of a ledger of two bets we never sent: two
    unknown_to_us bets (-3.00 for player p-1, +5.00 for p-2)."""
    path = folder / f"{name}.csv"
    with path.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["bet_id", "amount", "request_id", "player_id"])
        writer.writerow(["stranger-1", "-3.00", "r-1", "p-1"])
        writer.writerow(["stranger-2", "5.00", "r-2", "p-2"])
    scope = run.Scope(brand_id(engine, name), name, "EUR")
    return scope, run.reconcile(engine, scope, path, ledger_name=f"{name}.csv")
