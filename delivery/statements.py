"""Named queries run as server-side prepared statements.

psycopg2 sends every statement as text, so PostgreSQL parses and plans it again on each call.
For the queue's statements that costs more than running them (``callbacks`` has a dozen
indexes, most of them partial, and the planner weighs each one): at 50 callbacks a second,
planning was over half of the database's time. :func:`run` prepares a named query once per
connection (``PREPARE``) and then runs ``EXECUTE`` with the values; after a few calls PostgreSQL
keeps a generic plan when it is no worse than planning for the values, and plans afresh when it
is. The delivery worker's connections always take the generic plan
(``make_engine(generic_plans=True)``): for most of its statements a plan for the values looked
cheaper, and planning them on every call cost more than running them.

A generic plan is made from what the planner knows of the tables at that moment, and a table's
growth alone does not renew it: made while ``callbacks`` held a few dozen rows, it scans the
whole table for every claim long after it holds thousands. So each statement is prepared again
after it has served for a while — after :data:`REPREPARE_FIRST_S`, then twice as long each time up
to :data:`REPREPARE_MAX_S` — which costs one planning per statement and connection per period.

A prepared statement belongs to the database session: it outlives the transaction that made it
(rolled back or not), and a new connection — after a restart, or one the pool replaced — starts
without any, which the pool's per-connection ``info`` (cleared on reconnect) tracks.
"""
from __future__ import annotations

import re
import time
from collections.abc import Mapping, Sequence
from functools import cache, lru_cache

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import asyncpg

import sql

#: Compiles ``:name`` parameters to PostgreSQL's ``$1`` (a name used twice is one parameter).
_DOLLAR_PARAMS = asyncpg.dialect()
_PREPARED = "callbacks_prepared"
#: A ``:name`` parameter of an EXECUTE clause.
_PARAM = re.compile(r"(?<![:\w]):(\w+)")
#: A statement is prepared again after serving this long, then twice as long each time...
REPREPARE_FIRST_S = 1.0
#: ...up to this period.
REPREPARE_MAX_S = 60.0


@cache
def _statement(filename: str, name: str) -> tuple[str, str, tuple[str, ...]]:
    """``(handle, PREPARE text, parameter names in order)`` for a named query of ``filename``."""
    compiled = sa.text(sql.queries(filename)[name]).compile(dialect=_DOLLAR_PARAMS)
    handle = f"cd_{filename.removesuffix('.sql')}_{name}"
    return handle, f"PREPARE {handle} AS {compiled.string}", tuple(compiled.positiontup or ())


def run(conn: sa.Connection, name: str, params: Mapping | None = None, *,
        filename: str = "queries.sql", clock=time.monotonic) -> sa.CursorResult:
    """Run the named query of ``sql/<filename>`` on ``conn`` as a prepared statement."""
    return conn.execute(_execute_clause(conn, filename, name, clock), params or {})


def run_many(conn: sa.Connection, calls: Sequence[tuple], *,
             filename: str = "queries.sql", clock=time.monotonic) -> sa.CursorResult:
    """Run named queries ``[(name, params), ...]`` one after the other in one round trip
    (PostgreSQL takes several statements in one message, in the transaction under way); the
    result is the last one's. Each round trip costs both processes a wake-up and the caller
    an execution through SQLAlchemy, more than a small statement itself. A call
    ``(name, params, filename)`` names a query of another file than ``filename``."""
    if len(calls) == 1:
        name, params, *other = calls[0]
        return run(conn, name, params, filename=other[0] if other else filename, clock=clock)
    texts = []
    values = {}
    for i, (name, params, *other) in enumerate(calls):
        texts.append(_execute_clause(conn, other[0] if other else filename, name, clock).text)
        values.update({f"s{i}_{key}": value for key, value in params.items()})
    return conn.execute(_one_message(tuple(texts)), values)


@lru_cache(maxsize=256)
def _one_message(texts: tuple[str, ...]) -> sa.TextClause:
    """The EXECUTE clauses as one text, the i-th one's parameters renamed ``s<i>_<name>``."""
    return sa.text("; ".join(_PARAM.sub(rf":s{i}_\1", text) for i, text in enumerate(texts)))


def _execute_clause(conn: sa.Connection, filename: str, name: str, clock) -> sa.TextClause:
    """The EXECUTE clause of a named query, prepared on this connection first when it is not,
    or has served its period."""
    prepared = conn.connection.info.setdefault(_PREPARED, {})
    key = (filename, name)
    entry = prepared.get(key)
    now = clock()
    if entry is None or now >= entry[1]:
        serve_s = REPREPARE_FIRST_S if entry is None else min(entry[2] * 2, REPREPARE_MAX_S)
        entry = prepared[key] = (_prepare(conn, *_statement(filename, name)), now + serve_s,
                                 serve_s)
    return entry[0]


def _prepare(conn: sa.Connection, handle: str, prepare: str,
             names: tuple[str, ...]) -> sa.TextClause:
    """PREPARE on this connection (replacing the statement of that name if the session has
    one, so a preparation that failed half-way is simply done again); the EXECUTE clause casts
    each value to its parameter's type (psycopg2 writes a list of strings as ``text[]``, which
    PostgreSQL will not take for a ``uuid[]`` parameter without a cast)."""
    # Through the Connection, not a bare cursor: an error is then SQLAlchemy's, and a lost
    # connection is marked as such (and the pool renewed), so a caller's retry recognises it.
    exists = conn.exec_driver_sql(
        "SELECT 1 FROM pg_prepared_statements WHERE name = %(handle)s", {"handle": handle})
    if exists.first():
        conn.exec_driver_sql(f"DEALLOCATE {handle}")
    # No parameters, so a '%' in the query stays literal.
    conn.exec_driver_sql(prepare, execution_options={"no_parameters": True})
    types = conn.exec_driver_sql(
        "SELECT CAST(parameter_types AS text[]) FROM pg_prepared_statements"
        " WHERE name = %(handle)s", {"handle": handle}).scalar_one()
    args = ", ".join(f"CAST(:{p} AS {t})" for p, t in zip(names, types, strict=False))
    return sa.text(f"EXECUTE {handle}({args})" if args else f"EXECUTE {handle}")
