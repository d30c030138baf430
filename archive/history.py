"""A bet's history merged from PostgreSQL and the Parquet archive, in one place:
``callbacks history`` and the back-office's Investigate page both call :func:`bet_history`.

PostgreSQL's rows win: the archive adds only the callbacks and attempts PostgreSQL no longer
holds, each marked ``archived``. A bet's view leaves out the heartbeats of a player session
that happens to have the same id.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import contract

from .reader import Archive


@dataclass(frozen=True)
class BetHistory:
    """A bet's callbacks (queue order) and attempts (oldest first), PostgreSQL's and the
    archive's together."""

    callbacks: list[dict]
    attempts: list[dict]
    #: Whether the archive holds any callback or attempt of the bet (added or not).
    from_archive: bool


def bet_history(stored: Archive, bet_id: str, brands: Mapping[int, str],
                callbacks: list[dict], attempts: list[dict], *, limit: int,
                attempt_id: str = "attempt_id") -> BetHistory:
    """``callbacks`` and ``attempts`` (PostgreSQL's rows of the bet) with the archived ones of
    the brands in ``brands`` (``{id: name}``, those the caller may see) that PostgreSQL does not
    have, at most ``limit`` of each read from the archive. ``attempt_id`` is the key under
    which the caller's attempt rows carry the attempt's id; archived attempts get theirs under
    the same key, and their callback's ``callback_request_id``, ``payload`` and
    ``callback_state``."""
    if stored.empty:
        return BetHistory(callbacks, attempts, False)
    old_callbacks = stored.callbacks_of(bet_id, brands, limit)
    old_attempts = stored.attempts_of(bet_id, brands, limit, left_out=[contract.HEARTBEAT])
    have = {c["id"] for c in callbacks}
    merged_callbacks = sorted(
        callbacks + [dict(c, archived=True) for c in old_callbacks if c["id"] not in have],
        key=lambda c: c["id"])
    by_id = {c["id"]: c for c in merged_callbacks}
    seen = {str(a[attempt_id]) for a in attempts}
    added = []
    for old in old_attempts:
        if str(old["attempt_id"]) in seen:
            continue
        row = dict(old)
        row[attempt_id] = row.pop("attempt_id")
        callback = by_id.get(row["callback_id"], {})
        added.append(dict(row, callback_request_id=callback.get("request_id"),
                          payload=callback.get("payload"),
                          callback_state=callback.get("state"), archived=True))
    merged_attempts = sorted(attempts + added, key=lambda a: (a["started_at"], a["attempt_no"]))
    return BetHistory(merged_callbacks, merged_attempts, bool(old_callbacks or old_attempts))
