"""The operator's ledger, read with DuckDB into a table ``ledger`` of one shape, or one
:class:`LedgerError` line that names what is wrong (nothing is written then).

A ledger is a CSV or Parquet export of player balance movements, one row per movement:

======================  ========================================================================
``bet_id``              required: the bet the movement belongs to
``amount``              required: signed decimal, what it did to the player's available balance
``request_id``          optional: the callback's idempotency key, when the platform stores it
``player_id``           optional
``at``                  optional: when it was booked (ISO 8601; UTC unless it has an offset)
``currency``            optional: the wallet's currency code
======================  ========================================================================

Column names are matched without regard to case; ``--column amount=delta`` reads ``amount`` from
the file's column ``delta``. Other columns are ignored.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import duckdb

from delivery.errors import InvalidInput

COLUMNS = ("bet_id", "amount", "request_id", "player_id", "at", "currency")
REQUIRED = ("bet_id", "amount")
#: The name each column has in the ``ledger`` table (``at`` is a keyword of DuckDB's SQL).
_NAMES = {**{c: c for c in COLUMNS}, "at": "booked_at"}
#: The type amounts are read as: exact, and room for any wallet's precision.
AMOUNT_TYPE = "DECIMAL(38,12)"
_PARQUET_MAGIC = b"PAR1"


class LedgerError(InvalidInput):
    """The ledger cannot be read as one; the message names the column, line or value."""


@dataclass(frozen=True)
class LedgerInfo:
    """What was read: how many rows, and which optional columns carry values."""

    name: str
    rows: int
    kind: str
    #: Rows carry ``request_id`` (movements are paired with callbacks by it).
    by_request: bool
    has_at: bool
    has_currency: bool
    #: ``{our column: the file's column}`` for the columns found.
    columns: Mapping[str, str]


def parse_columns(items: Iterable[str]) -> dict[str, str]:
    """``["amount=delta", ...]`` → ``{"amount": "delta"}``; LedgerError for anything else."""
    mapping: dict[str, str] = {}
    for item in items:
        ours, sep, theirs = item.partition("=")
        ours, theirs = ours.strip().lower(), theirs.strip()
        if not sep or not ours or not theirs:
            raise LedgerError(f"--column {item!r} must be OURS=THEIRS, e.g. amount=delta",
                              field="column", value=item)
        if ours not in COLUMNS:
            raise LedgerError(f"--column {item!r}: {ours!r} is not a ledger column (one of "
                              f"{', '.join(COLUMNS)})", field="column", value=item)
        mapping[ours] = theirs
    return mapping


def kind_of(path: Path) -> str:
    """``parquet`` or ``csv``: by the suffix, else by the file's first bytes."""
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] in (".parquet", ".pq"):
        return "parquet"
    if suffixes and suffixes[-1] in (".csv", ".tsv", ".txt") or suffixes[-2:-1] == [".csv"]:
        return "csv"
    with path.open("rb") as handle:
        return "parquet" if handle.read(4) == _PARQUET_MAGIC else "csv"


def load(db: duckdb.DuckDBPyConnection, path: str | Path,
         columns: Mapping[str, str] | None = None, *, name: str | None = None) -> LedgerInfo:
    """Read the ledger at ``path`` into the table ``ledger`` of ``db``: ``line`` (the file's
    line for a CSV, its row for Parquet), ``bet_id``, ``amount`` (:data:`AMOUNT_TYPE`),
    ``request_id``, ``player_id``, ``booked_at`` (the ``at`` column, TIMESTAMPTZ),
    ``currency`` (upper case); empty text becomes NULL. ``name`` is how messages call the
    file (default: its path)."""
    path = Path(path)
    name = name or str(path)
    if not path.is_file():
        raise LedgerError(f"ledger {name!r}: no such file", field="ledger", value=name)
    try:
        if path.stat().st_size == 0:
            raise LedgerError(f"ledger {name!r} is empty", field="ledger", value=name)
        kind = kind_of(path)
    except OSError as exc:
        raise LedgerError(f"ledger {name!r} cannot be read ({exc.strerror})", field="ledger",
                          value=name) from None
    literal = "'" + str(path).replace("'", "''") + "'"
    source = (f"read_parquet({literal})" if kind == "parquet" else
              f"read_csv({literal}, all_varchar = true, header = true)")
    try:
        described = db.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()
    except duckdb.Error as exc:
        raise LedgerError(f"ledger {name!r} cannot be read as {kind.upper()}: "
                          f"{_first_line(exc)}", field="ledger", value=name) from None
    found = {row[0].strip().lower(): (row[0], row[1]) for row in described}
    mapping = dict(columns or {})
    chosen: dict[str, tuple[str, str]] = {}
    for column in COLUMNS:
        wanted = mapping.get(column, column)
        hit = found.get(wanted.strip().lower())
        if hit is None and (column in REQUIRED or column in mapping):
            listed = ", ".join(r[0] for r in described)
            how = (f"--column {column}={wanted} names no column" if column in mapping else
                   f"has no column {column!r}")
            raise LedgerError(f"ledger {name!r} {how} (its columns: {listed}); name the "
                              f"column with --column {column}=NAME", field=column, value=name)
        if hit is not None:
            chosen[column] = hit
    offset = 1 if kind == "csv" else 0
    db.execute(f"CREATE OR REPLACE TEMP TABLE ledger_raw AS SELECT "
               f"CAST(row_number() OVER () AS BIGINT) + {offset} AS line, "
               + ", ".join(f"{_text(chosen, c)} AS {_NAMES[c]}" for c in COLUMNS)
               + f" FROM {source}")
    rows = db.execute("SELECT count(*) FROM ledger_raw").fetchone()[0]
    if rows == 0:
        raise LedgerError(f"ledger {name!r} has no rows", field="ledger", value=name)
    _check(db, name, chosen, "line" if kind == "csv" else "row")
    db.execute(f"""
        CREATE OR REPLACE TEMP TABLE ledger AS
        SELECT line, bet_id, CAST(amount AS {AMOUNT_TYPE}) AS amount, request_id, player_id,
               CAST(booked_at AS TIMESTAMPTZ) AS booked_at, upper(currency) AS currency
        FROM ledger_raw""")
    db.execute("DROP TABLE ledger_raw")
    present = db.execute("SELECT count(request_id), count(booked_at), count(currency) FROM ledger"
                         ).fetchone()
    return LedgerInfo(name, rows, kind, present[0] > 0, present[1] > 0, present[2] > 0,
                      {c: hit[0] for c, hit in chosen.items()})


def _text(chosen: Mapping[str, tuple[str, str]], column: str) -> str:
    """The column as trimmed text, NULL when empty or absent."""
    if column not in chosen:
        return "CAST(NULL AS VARCHAR)"
    source, kind = chosen[column]
    quoted = '"' + source.replace('"', '""') + '"'
    if column == "amount" and kind != "VARCHAR":
        # Numbers keep their value; a float is rounded to the amount type, not printed.
        return f"CAST(TRY_CAST({quoted} AS {AMOUNT_TYPE}) AS VARCHAR)"
    if column == "at" and kind.startswith("TIMESTAMP"):
        return f"strftime(CAST({quoted} AS TIMESTAMPTZ), '%Y-%m-%dT%H:%M:%S.%f%z')"
    return f"nullif(trim(CAST({quoted} AS VARCHAR)), '')"


def _check(db: duckdb.DuckDBPyConnection, name: str, chosen: Mapping, where: str) -> None:
    """The first row whose bet_id, amount or at cannot be used, as a LedgerError."""
    problems = [
        ("bet_id IS NULL", "bet_id", "is empty"),
        ("amount IS NULL", "amount", "is empty"),
        (f"TRY_CAST(amount AS {AMOUNT_TYPE}) IS NULL", "amount",
         "is not a number (write a plain decimal such as -12.50)"),
        ("booked_at IS NOT NULL AND TRY_CAST(booked_at AS TIMESTAMPTZ) IS NULL", "at",
         "is not a time (write ISO 8601 such as 2026-12-01T10:00:00Z)"),
        ("currency IS NOT NULL AND NOT regexp_full_match(currency, '[A-Za-z0-9]{1,12}')",
         "currency", "is not a currency code such as EUR"),
    ]
    for condition, column, problem in problems:
        row = db.execute(f"SELECT line, {_NAMES[column]} FROM ledger_raw WHERE {condition} "
                         "ORDER BY line LIMIT 1").fetchone()
        if row is not None:
            shown = "" if row[1] is None else f" {row[1]!r}"
            source = chosen.get(column, (column,))[0]
            label = column if source == column else f"{column} (column {source!r})"
            raise LedgerError(f"ledger {name!r} {where} {row[0]}: {label}{shown} {problem}",
                              field=column, value=row[1], line=row[0])


def _first_line(exc: Exception) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__
