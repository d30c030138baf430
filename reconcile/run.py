"""One reconciliation: the ledger and our callbacks into DuckDB, then one pass over both sorted
by bet, each bet judged by :func:`reconcile.verdicts.judge`.

Memory stays bounded whatever the sizes: DuckDB sorts (spilling to disk past its limit), the
pass holds one bet at a time, and the report keeps the first :data:`KEEP` bets that do not
match (the CSV has every bet).
"""
from __future__ import annotations

import csv
import json
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import sqlalchemy as sa

from archive.reader import Archive
from contract.payouts import format_amount

from . import ledger as ledger_file
from . import ours as our_side
from .verdicts import (
    CASH_OUT_ACCEPTED,
    ORDER_FIELDS,
    PRECEDENCE,
    BetResult,
    Booked,
    Ours,
    Summary,
    Verdict,
    judge,
)

#: Most non-matching bets a report keeps (the CSV has them all).
KEEP = 10_000
#: Most callbacks whose Request IDs a report looks up.
NAMED_ATTEMPTS = 2_000
#: DuckDB's memory limit; it spills to a temporary folder past it.
MEMORY_LIMIT = "512MB"
#: Rows fetched at a time in the pass.
BATCH = 50_000
#: Columns of the per-bet CSV.
CSV_COLUMNS = ("bet_id", "verdict", "currency", "expected", "booked", "difference",
               "player_id", "callbacks", "ledger_rows", "request_ids", "detail")


@dataclass(frozen=True)
class Scope:
    """The brand reconciled: its id, name and wallet currency (None: not set)."""

    brand_id: int
    name: str
    currency: str | None = None


@dataclass
class Report:
    """What a reconciliation found."""

    brand: str
    ledger: ledger_file.LedgerInfo
    since: datetime | None
    until: datetime | None
    summary: Summary
    #: When the ledger was exported, when the person said so.
    exported_at: datetime | None = None
    #: Bets that do not match (the first :data:`KEEP` in bet order), most telling verdict
    #: first.
    mismatches: list[BetResult] = field(default_factory=list)
    #: How many more did not match than the report keeps.
    left_out: int = 0
    callbacks: int = 0
    archived_callbacks: int = 0
    #: Ledger rows of the brand's Integration Test bets, left out.
    test_rows: int = 0
    #: The Request IDs of the callbacks the kept findings name.
    attempts: dict[int, list[str]] = field(default_factory=dict)
    #: The player of each kept bet (ours or the ledger's).
    players: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def all_match(self) -> bool:
        return self.summary.all_match

    @property
    def by_request(self) -> bool:
        return self.ledger.by_request

    def method(self) -> str:
        """How rows were paired, in words."""
        if self.by_request:
            return "movements paired with callbacks by request_id"
        return ("the ledger has no request_id: each bet's net amounts compared (a movement "
                "booked twice or missing is named from the amounts that do not pair up)")

    def bet_row(self, result: BetResult) -> dict:
        """A bet's report row (CSV, JSON, the page)."""
        return bet_row(result, self.players.get(result.bet_id), self.attempts)

    def as_json(self) -> dict:
        return dict(
            brand=self.brand, ledger=self.ledger.name, ledger_rows=self.ledger.rows,
            by_request=self.by_request, method=self.method(),
            since=_iso(self.since), until=_iso(self.until),
            exported_at=_iso(self.exported_at), callbacks=self.callbacks,
            archived_callbacks=self.archived_callbacks, test_rows=self.test_rows,
            bets=self.summary.bets,
            all_match=self.all_match, summary=self.summary.rows(),
            mismatches=[self.bet_row(r) for r in self.mismatches], left_out=self.left_out,
            seconds=round(self.seconds, 3))


def bet_row(result: BetResult, player: str | None,
            attempts: dict[int, list[str]] | None = None) -> dict:
    named = result.named
    return dict(
        bet_id=result.bet_id, verdict=str(result.verdict), currency=result.currency,
        expected=format_amount(result.expected), booked=format_amount(result.booked),
        difference=format_amount(result.difference), player_id=player or "",
        callbacks=result.callbacks, ledger_rows=result.ledger_rows,
        request_ids=" ".join(cb.request_id for cb in named),
        attempt_ids=" ".join(a for cb in named for a in (attempts or {}).get(cb.callback_id, ())),
        detail=result.detail)


def reconcile(engine: sa.Engine, scope: Scope, ledger_path: str | Path, *,
              columns: dict[str, str] | None = None, since: datetime | None = None,
              until: datetime | None = None, exported_at: datetime | None = None,
              archive: Archive | None = None,
              csv_out: str | Path | None = None, ledger_name: str | None = None,
              progress: Callable[[float, str], None] | None = None) -> Report:
    """Reconcile the brand's callbacks with the ledger at ``ledger_path`` (exported at
    ``exported_at``, when known: callbacks delivered after it may be missing from it). Bad
    input raises
    :class:`~reconcile.ledger.LedgerError` before anything is written; ``csv_out`` (every bet,
    one row each) appears only complete."""
    started = time.perf_counter()
    say = progress or (lambda fraction, text: None)
    with tempfile.TemporaryDirectory(prefix="callbacks-reconcile-") as spill, \
            duckdb.connect() as db:
        db.execute("SET TimeZone = 'UTC'")
        db.execute(f"SET memory_limit = '{MEMORY_LIMIT}'")
        db.execute(f"SET temp_directory = '{spill}'")
        db.execute("SET preserve_insertion_order = false")
        say(0.02, "reading the ledger")
        info = ledger_file.load(db, ledger_path, columns, name=ledger_name)
        say(0.15, f"read {info.rows:,} ledger rows; reading our callbacks")
        mine = our_side.load(db, engine, scope.brand_id, since=since, until=until,
                             archive=archive, progress=lambda text: say(0.3, text))
        report = Report(scope.name, info, since, until, Summary(), exported_at=exported_at,
                        callbacks=mine.callbacks,
                        archived_callbacks=mine.archived,
                        test_rows=db.execute("SELECT count(*) FROM ledger WHERE bet_id IN "
                                             "(SELECT bet_id FROM test_bets)").fetchone()[0])
        say(0.4, f"comparing {mine.bets:,} bets of ours with the ledger")
        writer = _CsvOut(Path(csv_out)) if csv_out else None
        try:
            total = max(1, mine.bets)
            for done, (result, player) in enumerate(
                    _judged(db, info, scope, since, until, exported_at), start=1):
                report.summary.add(result)
                if writer:
                    writer.write(bet_row(result, player))
                if result.verdict != Verdict.MATCH:
                    if len(report.mismatches) < KEEP:
                        report.mismatches.append(result)
                        if player:
                            report.players[result.bet_id] = player
                    else:
                        report.left_out += 1
                if done % 20_000 == 0:
                    say(0.4 + 0.55 * min(1.0, done / total), f"compared {done:,} bets")
            if writer:
                writer.finish()
        finally:
            if writer:
                writer.discard()
    report.mismatches.sort(key=lambda r: (PRECEDENCE.index(r.verdict), r.bet_id))
    named = [cb.callback_id for r in report.mismatches for cb in r.named][:NAMED_ATTEMPTS]
    report.attempts = our_side.attempts_of(engine, named, archive)
    report.seconds = time.perf_counter() - started
    say(1.0, "done")
    return report


#: Ledger rows compared: those of our bets, and of any other bet booked in the window (or at
#: no stated time) — never those of the brand's Integration Test bets.
_COMPARED = """
    bet_id NOT IN (SELECT bet_id FROM test_bets)
    AND (bet_id IN (SELECT bet_id FROM ours)
         OR booked_at IS NULL
         OR (($since IS NULL OR booked_at >= $since) AND ($until IS NULL OR booked_at < $until)))
"""
# Amounts leave DuckDB as text and become Decimals in Python (:func:`_money`): the same values,
# fetched in less than half the time DuckDB's own DECIMAL → Decimal conversion takes.
_PASS = f"""
    SELECT bet_id, 0 AS side, callback_id AS seq, request_id, destination, state,
           CAST(amount AS VARCHAR), orders, CAST(stake AS VARCHAR), code, player_id,
           coalesce(state = 'delivered' AND finished_at > $horizon, false) AS late
    FROM ours
    UNION ALL
    SELECT bet_id, 1, line, request_id, NULL, NULL, CAST(amount AS VARCHAR), NULL, NULL,
           currency, player_id, false
    FROM ledger
    WHERE {_COMPARED}
    ORDER BY bet_id, side, seq"""


def _judged(db: duckdb.DuckDBPyConnection, info: ledger_file.LedgerInfo, scope: Scope,
            since: datetime | None, until: datetime | None, exported_at: datetime | None
            ) -> Iterator[tuple[BetResult, str | None]]:
    """Every bet of ours or of the ledger, judged, in bet order, with its player."""
    cursor = db.execute(_PASS, dict(since=since, until=until, horizon=exported_at))
    bet_id = None
    callbacks: list[Ours] = []
    booked: list[Booked] = []
    player = None
    while True:
        rows = cursor.fetchmany(BATCH)
        if not rows:
            break
        for (bet, side, seq, request_id, destination, state, amount, orders, stake, code,
             player_id, late) in rows:
            if bet != bet_id:
                if bet_id is not None:
                    yield _judge(bet_id, callbacks, booked, info, scope), player
                bet_id, callbacks, booked, player = bet, [], [], None
            if side == 0:
                callbacks.append(Ours(seq, request_id, destination, state, _money(amount),
                                      _orders(destination, orders),
                                      _money(stake) or Decimal(0), _code(code), late))
            else:
                booked.append(Booked(_money(amount), request_id, code))
            player = player or player_id
    if bet_id is not None:
        yield _judge(bet_id, callbacks, booked, info, scope), player


def _judge(bet_id: str, callbacks: list[Ours], booked: list[Booked],
           info: ledger_file.LedgerInfo, scope: Scope) -> BetResult:
    return judge(bet_id, callbacks, booked, by_request=info.by_request, currency=scope.currency)


def _money(text: str | None) -> Decimal | None:
    """An amount of the pass (the text of a :data:`~reconcile.ledger.AMOUNT_TYPE`) as the
    Decimal it is."""
    return None if text is None else Decimal(text)


def _orders(destination: str, text: str | None) -> tuple[str, ...]:
    if destination not in ORDER_FIELDS or not text:
        return ()
    try:
        value = json.loads(text)
    except ValueError:
        value = text
    if destination == CASH_OUT_ACCEPTED or not isinstance(value, list):
        return (str(value),)
    return tuple(str(v) for v in value)


def _code(text: str | None) -> str | None:
    if not text:
        return None
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= 80 else line[:79] + "…"


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


class _CsvOut:
    """The per-bet CSV, written under a temporary name and renamed once complete."""

    def __init__(self, path: Path):
        self.path = path
        try:
            handle, self.temporary = tempfile.mkstemp(prefix=f".{path.name}.",
                                                      dir=path.parent or ".")
        except OSError as exc:
            raise ledger_file.LedgerError(f"--csv {str(path)!r} cannot be written "
                                          f"({exc.strerror})", field="csv",
                                          value=str(path)) from None
        self.file = os.fdopen(handle, "w", newline="", encoding="utf-8")
        self.writer = csv.DictWriter(self.file, fieldnames=CSV_COLUMNS, extrasaction="ignore")
        self.writer.writeheader()
        self.done = False

    def write(self, row: dict) -> None:
        self.writer.writerow(row)

    def finish(self) -> None:
        self.file.close()
        os.replace(self.temporary, self.path)
        self.done = True

    def discard(self) -> None:
        if not self.done:
            self.file.close()
            Path(self.temporary).unlink(missing_ok=True)
