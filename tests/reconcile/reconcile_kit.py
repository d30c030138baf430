"""Traffic for the reconciliation tests: a few bets of every lifecycle delivered to a real
sandbox over HTTP by in-process delivery rounds, and the sandbox's own ledger CSV."""
from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from pathlib import Path

import httpx
from factories import PAYLOADS, item
from rounds import deliver_until

from delivery import brands, store
from delivery.validation import parse_callback

TOKEN = "session-token-123456"
PLACE, ACCEPT, DECLINE = "/bet/place", "/bet/accept", "/bet/decline"
SETTLE, UNSETTLE = "/bet/settle", "/bet/unsettle"
CO_ACCEPTED, CO_DECLINED = "/bet/cash-out-orders/accepted", "/bet/cash-out-orders/declined"


def body(destination: str, **fields) -> dict:
    return {**PAYLOADS[destination], **fields}


def bet_callbacks(bet_id: str, lifecycle: str) -> list[dict]:
    """The producer items of one bet (stake 10 unless the lifecycle says otherwise)."""
    place = body(PLACE, bet_stake="10.00")
    steps = {
        "settle": [(PLACE, place), (ACCEPT, place),
                   (SETTLE, body(SETTLE, settle_amount="25.00", settle_type=1))],
        "resettle": [(PLACE, place), (ACCEPT, place),
                     (SETTLE, body(SETTLE, settle_amount="25.00", settle_type=1)),
                     (UNSETTLE, body(UNSETTLE, unsettle_amount="25.00")),
                     (SETTLE, body(SETTLE, settle_amount="0.00", settle_type=3))],
        "cash_out": [(PLACE, place), (ACCEPT, place),
                     (CO_ACCEPTED, body(CO_ACCEPTED, cash_out_order_id=f"co-{bet_id}",
                                        amount="10.00", refund_amount="8.00")),
                     (SETTLE, body(SETTLE, settle_amount="0.00", settle_type=3))],
        "cash_out_annulled": [
            (PLACE, place), (ACCEPT, place),
            (CO_ACCEPTED, body(CO_ACCEPTED, cash_out_order_id=f"co-{bet_id}", amount="10.00",
                               refund_amount="8.00")),
            (CO_DECLINED, body(CO_DECLINED, cash_out_order_ids=[f"co-{bet_id}"])),
            (SETTLE, body(SETTLE, settle_amount="20.00", settle_type=1))],
        "decline": [(PLACE, place), (DECLINE, body(DECLINE))],
        "too_big": [(PLACE, body(PLACE, bet_stake="50000.00")), (ACCEPT, place)],
    }[lifecycle]
    return [item(bet_id, d, p, foreign_params={"token": TOKEN}) for d, p in steps]


def enqueue(engine, brand: str, items: Iterable[dict]) -> None:
    store.enqueue(engine, brand, [parse_callback(i) for i in items])


def deliver_all(engine, timeout_s: float = 30) -> None:
    deliver_until(engine, lambda: store.status(engine)["pending_callbacks"] == 0, timeout_s,
                  "every callback delivered")


def ledger_rows(sandbox_url: str) -> list[dict]:
    """The sandbox's ledger, as its CSV rows."""
    answer = httpx.get(f"{sandbox_url}/ledger.csv", timeout=10)
    answer.raise_for_status()
    return list(csv.DictReader(io.StringIO(answer.text)))


def write_csv(path: Path, rows: list[dict], columns: Iterable[str] | None = None) -> Path:
    columns = list(columns or (rows[0].keys() if rows else ["bet_id", "amount"]))
    with path.open("w", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path


def add_brand(engine, name: str, url: str, currency: str | None = "EUR") -> None:
    brands.add_brand(engine, name, url, retry_schedule_s=(0, 1))
    if currency:
        brands.set_brand_currency(engine, name, currency)
