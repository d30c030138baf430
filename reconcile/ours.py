"""Our side: the brand's callbacks, from PostgreSQL and the Parquet archive, into the DuckDB
table ``ours`` — one row per callback with the member that moves money — and the brand's
Integration Test bets into ``test_bets`` (their callbacks went to the platforms under test, so
the reconciliation leaves them out, on both sides).

PostgreSQL's rows are streamed out with ``COPY`` (a million callbacks in seconds, through the
caller's engine and so within its brand scope); archived callbacks are added only when
PostgreSQL no longer has them (the archive reader's rule).
"""
from __future__ import annotations

import csv
import json
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb
import psycopg2.extensions
import sqlalchemy as sa

import sql
from archive.reader import Archive

from .ledger import AMOUNT_TYPE
from .verdicts import AMOUNT_FIELDS, ORDER_FIELDS

_FILE = "reconcile.sql"
#: A bind parameter of the query file, as psycopg2 writes it.
_PARAM = re.compile(r"(?<![:\w]):(\w+)")
#: The columns of ``ours``, in the order the queries give them.
_CSV_COLUMNS = {"callback_id": "BIGINT", "request_id": "VARCHAR", "bet_id": "VARCHAR",
                "destination": "VARCHAR", "state": "VARCHAR", "amount": "VARCHAR",
                "orders": "VARCHAR", "stake": "VARCHAR", "player_id": "VARCHAR",
                "code": "VARCHAR", "origin": "VARCHAR", "finished_at": "VARCHAR"}
#: The origin of the Integration Test's own traffic.
INTEGRATION_TEST = "integration_test"
#: Longest statement the export may take (a million callbacks take seconds).
STATEMENT_TIMEOUT = "10min"
#: Rows fetched at a time when the callbacks cannot be COPied.
_ROWS_AT_A_TIME = 20_000


@dataclass(frozen=True)
class OursInfo:
    callbacks: int
    archived: int
    bets: int


def load(db: duckdb.DuckDBPyConnection, engine: sa.Engine, brand_id: int, *,
         since: datetime | None = None, until: datetime | None = None,
         archive: Archive | None = None,
         progress: Callable[[str], None] | None = None) -> OursInfo:
    """Fill the table ``ours`` with the brand's callbacks of bets created in ``[since,
    until)``."""
    params = dict(brand_id=brand_id, since=since, until=until,
                  amount_fields=json.dumps(AMOUNT_FIELDS), order_fields=json.dumps(ORDER_FIELDS))
    with tempfile.TemporaryDirectory(prefix="callbacks-reconcile-") as folder:
        exported = Path(folder) / "callbacks.csv"
        _export(engine, params, exported)
        if progress:
            progress("read our callbacks from PostgreSQL")
        columns = "{" + ", ".join(f"'{k}': '{v}'" for k, v in _CSV_COLUMNS.items()) + "}"
        literal = "'" + str(exported).replace("'", "''") + "'"
        db.execute(f"""
            CREATE OR REPLACE TEMP TABLE ours AS
            SELECT callback_id, request_id, bet_id, destination, state,
                   CAST(amount AS {AMOUNT_TYPE}) AS amount, orders,
                   CAST(stake AS {AMOUNT_TYPE}) AS stake, player_id, code, origin,
                   CAST(finished_at AS TIMESTAMPTZ) AS finished_at, false AS archived
            FROM read_csv({literal}, header = true, columns = {columns}, quote = '"',
                          escape = '"', nullstr = '')""")
    archived = 0
    if archive is not None and archive.files["callbacks"] and archive.files["bets"]:
        archived = _add_archived(db, archive, brand_id, since, until)
        if progress:
            progress("read our archived callbacks")
    db.execute("CREATE OR REPLACE TEMP TABLE test_bets AS SELECT DISTINCT bet_id FROM ours "
               "WHERE origin = $origin", dict(origin=INTEGRATION_TEST))
    db.execute("DELETE FROM ours WHERE origin = $origin", dict(origin=INTEGRATION_TEST))
    total, bets = db.execute("SELECT count(*), count(DISTINCT bet_id) FROM ours").fetchone()
    return OursInfo(total, archived, bets)


def _export(engine: sa.Engine, params: dict, target: Path) -> None:
    """COPY the brand's callbacks to a CSV file, in one transaction of ``engine`` (its brand
    scope applies)."""
    select = sql.queries(_FILE)["brand_callbacks"].replace("%", "%%")
    select = _PARAM.sub(r"%(\1)s", select)
    statement = f"COPY ({select}) TO STDOUT WITH (FORMAT csv, HEADER)"
    with engine.begin() as conn:
        conn.exec_driver_sql(f"SET LOCAL statement_timeout = '{STATEMENT_TIMEOUT}'")
        if psycopg2.extensions.get_wait_callback() is not None:
            # psycopg2 refuses COPY under a wait callback (the dashboard's server sets one
            # to notice a silent database): stream the rows through a server-side cursor.
            _export_rows(conn, select, params, target)
            return
        cursor = conn.connection.dbapi_connection.cursor()
        try:
            with target.open("wb") as out:
                cursor.copy_expert(cursor.mogrify(statement, params), out)
        finally:
            cursor.close()


def _export_rows(conn: sa.Connection, select: str, params: dict, target: Path) -> None:
    """The rows of ``select`` written as COPY would (CSV, a header, NULL as empty)."""
    cursor = conn.connection.dbapi_connection.cursor(name="reconcile_callbacks")
    try:
        cursor.itersize = _ROWS_AT_A_TIME
        cursor.execute(select, params)
        with target.open("w", newline="", encoding="utf-8") as out:
            writer = csv.writer(out)
            writer.writerow(_CSV_COLUMNS)
            for row in cursor:
                writer.writerow(["" if v is None else v for v in row])
    finally:
        cursor.close()


def _add_archived(db: duckdb.DuckDBPyConnection, archive: Archive, brand_id: int,
                  since: datetime | None, until: datetime | None) -> int:
    amount = _member_case(AMOUNT_FIELDS, text=True)
    orders = _member_case(ORDER_FIELDS, text=False)
    before = db.execute("SELECT count(*) FROM ours").fetchone()[0]
    db.execute(f"""
        INSERT INTO ours
        SELECT c.id, c.request_id, c.bet_id, c.destination, c.state,
               CAST({amount} AS {AMOUNT_TYPE}), {orders},
               CAST(b.stake AS {AMOUNT_TYPE}), b.player_id, c.last_error, c.origin,
               c.finished_at, true
        FROM {archive.source('callbacks')} c
        JOIN {archive.source('bets')} b ON b.bet_id = c.bet_id
        WHERE c.brand_id = $brand_id
          AND ($since IS NULL OR b.created_at >= $since)
          AND ($until IS NULL OR b.created_at < $until)
          AND c.id NOT IN (SELECT callback_id FROM ours WHERE NOT archived)""",
               dict(brand_id=brand_id, since=since, until=until))
    return db.execute("SELECT count(*) FROM ours").fetchone()[0] - before


def _member_case(fields: dict[str, str], *, text: bool) -> str:
    """A CASE on ``c.destination`` that reads each destination's member of the payload."""
    read = "json_extract_string" if text else "json_extract"
    whens = " ".join(f"WHEN '{d}' THEN CAST({read}(c.payload, '$.{m}') AS VARCHAR)"
                     for d, m in fields.items())
    return f"(CASE c.destination {whens} END)"


def attempts_of(engine: sa.Engine, callback_ids: list[int],
                archive: Archive | None = None) -> dict[int, list[str]]:
    """The Request IDs of each callback's attempts, oldest first (PostgreSQL's and the
    archive's)."""
    found: dict[int, list[str]] = {}
    if not callback_ids:
        return found
    with engine.connect() as conn:
        for row in conn.execute(sql.query(_FILE, "attempts_of_callbacks"),
                                {"ids": callback_ids}):
            found.setdefault(row.callback_id, []).append(row.attempt_id)
    if archive is not None and archive.files["attempts"]:
        with duckdb.connect() as db:
            rows = db.execute(f"""
                SELECT callback_id, id FROM {archive.source('attempts')}
                WHERE callback_id IN (SELECT unnest($ids)) ORDER BY callback_id, started_at""",
                              dict(ids=callback_ids)).fetchall()
        for callback_id, attempt_id in rows:
            if attempt_id not in found.get(callback_id, []):
                found.setdefault(callback_id, []).append(attempt_id)
    return found
