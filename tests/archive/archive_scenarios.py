"""Real history that is old enough to archive: callbacks queued through delivery.store,
delivered over real HTTP to a test receiver, then moved back in time (rows, partitions and all)
as if they had happened long ago.
"""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from dashboard_scenarios import deliver_due, move_back
from factories import item
from receiver import Receiver, Reply

import contract
from delivery import brands, store
from delivery.validation import parse_callback

#: When the "old" bets happened: the middle of a month two years before now.
OLD = (datetime.now(UTC) - timedelta(days=730)).replace(day=15, hour=12, minute=0,
                                                                 second=0, microsecond=0)


def platform(seen) -> Reply:
    bet = (seen.body or {}).get("bet_id", "")
    if bet.endswith("-refused") and seen.path == "/bet/place":
        return Reply.json(400, contract.error_body("not_enough_balance",
                                                   {"actual_balance": "1.00"}))
    return Reply(204)


def build(engine: sa.Engine) -> None:
    """Brands ``north`` and ``south``; for each, bets delivered now, and bets moved back to
    :data:`OLD` (``old-*``) — one of them refused by the platform."""
    with Receiver(platform) as receiver:
        brands.add_brand(engine, "north", receiver.url, retry_schedule_s=(0,))
        brands.add_brand(engine, "south", receiver.url, retry_schedule_s=(0,))
        for brand in ("north", "south"):
            store.enqueue(engine, brand, [parse_callback(i) for i in (
                item(f"old-{brand}-1", "/bet/place"), item(f"old-{brand}-1", "/bet/accept"),
                item(f"old-{brand}-1", "/bet/settle"),
                item(f"old-{brand}-refused", "/bet/place"),
                item(f"new-{brand}-1", "/bet/place"))])
        deliver_due(engine)
    move_back(engine, [b for b in bet_ids(engine) if b.startswith("old-")], OLD)


def bet_ids(engine: sa.Engine) -> list[str]:
    with engine.connect() as conn:
        return list(conn.execute(sa.text("SELECT bet_id FROM bets ORDER BY bet_id")).scalars())


def old_partition() -> str:
    return f"attempts_{OLD:%Y_%m}"
