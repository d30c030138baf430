"""Questions answered from the Parquet archive with DuckDB's ``read_parquet``.

The back-office and ``callbacks history`` ask PostgreSQL first and the archive for what left
it. Every question takes ``brands``, ``{brand_id: name}`` of the brands the caller may see:
archived rows of any other brand are never returned (the files hold every brand, and no
PostgreSQL row-level security reaches them).

Which files count: callbacks and bets files always (a caller merges them with PostgreSQL's rows
by key, PostgreSQL's winning); an attempts file only once its partition is gone from
PostgreSQL, so an attempt is never counted twice while an archive run is between steps.
"""
from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import sqlalchemy as sa

import sql
from delivery import masking

from .layout import DROPPED, TABLES, Manifest

#: Longest response body text the history list carries per row (as the PostgreSQL query).
RESPONSE_PREVIEW_CHARS = 2000

_JSON_COLUMNS = {"request_headers", "response_headers", "payload", "odds", "restrictions"}
#: Columns of an archived attempt that may quote its answer (masked as they are read).
_ECHO_COLUMNS = {"response_body", "response_data", "error_detail", "error_code"}


@dataclass(frozen=True)
class Archive:
    """The archive folder as seen now: its files, and the month before which it holds every
    attempt PostgreSQL no longer has."""

    folder: Path
    files: Mapping[str, tuple[str, ...]]
    #: Attempts that started before this instant may be in the archive (None: none are).
    holds_before: datetime | None

    @property
    def empty(self) -> bool:
        return not any(self.files.values())

    # --- history ------------------------------------------------------------------------------

    def history(self, brands: Mapping[int, str], params: dict, limit: int) -> list[dict]:
        """Archived attempts for Callback history: the ``history`` query's filters, order
        (newest callback first), keyset cursor and columns (see ``sql/dashboard.sql``)."""
        if not self.files["attempts"] or not brands:
            return []
        p = dict(params)
        rows = self._rows(f"""
            SELECT a.id AS attempt_id, a.group_id, a.destination, a.callback_created_at,
                   a.started_at, a.attempt_no, c.attempts AS callback_attempts,
                   c.state AS callback_state,
                   left(a.response_body, {RESPONSE_PREVIEW_CHARS}) AS response_data,
                   a.response_truncated, a.response_status, a.outcome, a.error_class,
                   a.error_code, a.error_detail, a.duration_ms, a.finished_at,
                   a.next_attempt_at, c.request_id AS callback_request_id, a.brand_id,
                   a.request_headers, coalesce(a.callback_id, 0) AS callback_order
            FROM {self.source("attempts")} a
            LEFT JOIN {self.source("callbacks")} c ON c.id = a.callback_id
            WHERE a.callback_created_at >= $created_from AND a.callback_created_at < $created_to
              AND list_contains($brand_ids, a.brand_id)
              AND (len($group_ids) = 0 OR list_contains($group_ids, a.group_id))
              AND (len($destinations) = 0 OR list_contains($destinations, a.destination))
              AND NOT list_contains($hidden_destinations, a.destination)
              AND (len($outcomes) = 0 OR list_contains($outcomes, a.outcome))
              AND (len($error_classes) = 0 OR list_contains($error_classes, a.error_class))
              AND (NOT $filter_codes
                   OR list_contains($codes, a.response_status)
                   OR list_contains($code_classes, a.response_status // 100)
                   OR ($no_response AND a.response_status IS NULL))
              AND ($after_created IS NULL
                   OR a.callback_created_at < $after_created
                   OR (a.callback_created_at = $after_created
                       AND (a.started_at < $after_started
                            OR (a.started_at = $after_started AND a.id < $after_id))))
            ORDER BY a.callback_created_at DESC, a.started_at DESC, a.id DESC
            LIMIT {int(limit)}""", dict(
            created_from=p["created_from"], created_to=p["created_to"],
            brand_ids=list(brands), group_ids=_texts(p.get("group_ids")),
            destinations=_texts(p.get("destinations")),
            hidden_destinations=_texts(p.get("hidden_destinations")),
            outcomes=_texts(p.get("outcomes")),
            error_classes=_texts(p.get("error_classes")),
            filter_codes=bool(p.get("filter_codes")), codes=_ints(p.get("codes")),
            code_classes=_ints(p.get("code_classes")), no_response=bool(p.get("no_response")),
            after_created=p.get("after_created"), after_started=p.get("after_started"),
            after_id=None if p.get("after_id") is None else str(p["after_id"])),
            casts={"group_ids": "VARCHAR[]", "destinations": "VARCHAR[]",
                   "hidden_destinations": "VARCHAR[]", "outcomes": "VARCHAR[]",
                   "error_classes": "VARCHAR[]",
                   "codes": "INTEGER[]", "code_classes": "INTEGER[]",
                   "brand_ids": "INTEGER[]", "after_created": "TIMESTAMPTZ",
                   "after_started": "TIMESTAMPTZ", "after_id": "VARCHAR"})
        for row in rows:
            row["brand"] = brands.get(row["brand_id"])
            del row["request_headers"]  # read only to mask the answer's echoes
        return rows

    def attempt(self, attempt_id: str, brands: Mapping[int, str]) -> dict | None:
        """Everything recorded about one archived attempt, with its callback's payload."""
        if not self.files["attempts"] or not brands:
            return None
        rows = self._rows(f"""
            SELECT a.id AS attempt_id, a.callback_id, a.group_id, a.destination, a.origin,
                   a.attempt_no, a.callback_created_at, a.scheduled_at, a.started_at,
                   a.finished_at, a.duration_ms, a.request_headers, a.response_status,
                   a.response_headers, a.response_body, a.response_truncated, a.outcome,
                   a.error_class, a.error_detail, a.error_code, a.next_attempt_at,
                   c.request_id AS callback_request_id, c.state AS callback_state,
                   c.attempts AS callback_attempts, c.payload, a.brand_id
            FROM {self.source("attempts")} a
            LEFT JOIN {self.source("callbacks")} c ON c.id = a.callback_id
            WHERE a.id = $attempt_id AND list_contains($brand_ids, a.brand_id)""",
            {"attempt_id": attempt_id, "brand_ids": list(brands)},
            casts={"brand_ids": "INTEGER[]"})
        if not rows:
            return None
        row = rows[0]
        row["brand"] = brands.get(row["brand_id"])
        return row

    # --- one bet ------------------------------------------------------------------------------

    def bet(self, bet_id: str, brands: Mapping[int, str]) -> dict | None:
        """The archived bet row (with ``brand``), if the archive has it for these brands."""
        if not self.files["bets"] or not brands:
            return None
        rows = self._rows(f"""
            SELECT bet_id, status, player_id, bet_type, stake, odds, system_sizes,
                   restrictions, placed_at, created_at, updated_at, brand_id
            FROM {self.source("bets")}
            WHERE bet_id = $bet_id AND list_contains($brand_ids, brand_id)
            ORDER BY updated_at DESC LIMIT 1""",
            {"bet_id": bet_id, "brand_ids": list(brands)}, casts={"brand_ids": "INTEGER[]"})
        if not rows:
            return None
        row = rows[0]
        row["brand"] = brands.get(row["brand_id"])
        if row["stake"] is not None:
            row["stake"] = Decimal(row["stake"])
        return row

    def bets_named(self, bet_ids: Iterable[str], brands: Mapping[int, str]) -> list[dict]:
        """The archived bets of these ids (each once, its latest row, with ``brand``), in the
        shape of the back-office's ``bets`` query: with how their archived callbacks went."""
        ids = _texts(bet_ids)
        if not self.files["bets"] or not brands or not ids:
            return []
        callbacks = (f"""
            SELECT bet_id, count(*) AS callbacks, coalesce(sum(attempts), 0) AS attempts,
                   count(*) FILTER (WHERE attempts > 1
                                      OR state IN ('rejected', 'exhausted')) AS troubled,
                   arg_max(state, id) FILTER (WHERE attempts > 0) AS last_state,
                   arg_max(last_status, id) FILTER (WHERE attempts > 0) AS last_status
            FROM (SELECT DISTINCT ON (id) * FROM {self.source("callbacks")}
                  WHERE list_contains($bet_ids, bet_id))
            GROUP BY bet_id""" if self.files["callbacks"] else
                     "SELECT NULL AS bet_id, 0 AS callbacks, 0 AS attempts, 0 AS troubled, "
                     "NULL AS last_state, NULL AS last_status WHERE false")
        rows = self._rows(f"""
            WITH b AS (
                SELECT * FROM {self.source("bets")}
                WHERE list_contains($bet_ids, bet_id) AND list_contains($brand_ids, brand_id)
                QUALIFY row_number() OVER (PARTITION BY bet_id ORDER BY updated_at DESC) = 1
            ), cb AS ({callbacks})
            SELECT b.bet_id, b.status, b.player_id, b.bet_type, b.stake, b.odds,
                   b.system_sizes, b.placed_at, b.created_at, b.brand_id,
                   coalesce(cb.callbacks, 0) AS callbacks, coalesce(cb.attempts, 0) AS attempts,
                   coalesce(cb.troubled, 0) AS troubled, cb.last_state, cb.last_status
            FROM b LEFT JOIN cb ON cb.bet_id = b.bet_id
            ORDER BY b.created_at DESC, b.bet_id DESC""",
            {"bet_ids": ids, "brand_ids": list(brands)},
            casts={"bet_ids": "VARCHAR[]", "brand_ids": "INTEGER[]"})
        for row in rows:
            row["brand"] = brands.get(row.pop("brand_id"))
            if row["stake"] is not None:
                row["stake"] = Decimal(row["stake"])
        return rows

    def callbacks_of(self, bet_id: str, brands: Mapping[int, str], limit: int) -> list[dict]:
        """The bet's archived callbacks in queue order (Foreign-Params are never archived)."""
        if not self.files["callbacks"] or not brands:
            return []
        return self._rows(f"""
            SELECT id, request_id, destination, state, attempts, next_attempt_at, last_status,
                   last_error, origin, created_at, finished_at, payload, brand_id
            FROM {self.source("callbacks")}
            WHERE bet_id = $bet_id AND list_contains($brand_ids, brand_id)
            ORDER BY id LIMIT {int(limit)}""",
            {"bet_id": bet_id, "brand_ids": list(brands)}, casts={"brand_ids": "INTEGER[]"})

    def attempts_of(self, bet_id: str, brands: Mapping[int, str], limit: int, *,
                    left_out: Iterable[str] = ()) -> list[dict]:
        """The group's archived attempts (a bet's, or a player session's heartbeats), oldest
        first, with every recorded field; destinations in ``left_out`` are not read (a bet's
        view leaves out the heartbeats of a session that has the same id)."""
        if not self.files["attempts"] or not brands:
            return []
        rows = self._rows(f"""
            SELECT a.id AS attempt_id, a.callback_id, a.group_id, a.destination, a.origin,
                   a.attempt_no, a.callback_created_at, a.scheduled_at, a.started_at,
                   a.finished_at, a.duration_ms, a.request_headers, a.response_status,
                   a.response_headers, a.response_body, a.response_truncated, a.outcome,
                   a.error_class, a.error_detail, a.error_code, a.next_attempt_at, a.brand_id
            FROM {self.source("attempts")} a
            WHERE a.group_id = $bet_id AND list_contains($brand_ids, a.brand_id)
              AND NOT list_contains($left_out, a.destination)
            ORDER BY a.started_at, a.attempt_no LIMIT {int(limit)}""",
            {"bet_id": bet_id, "brand_ids": list(brands), "left_out": _texts(left_out)},
            casts={"brand_ids": "INTEGER[]", "left_out": "VARCHAR[]"})
        return rows

    # --- breakdowns ---------------------------------------------------------------------------

    def breakdown(self, brands: Mapping[int, str], window_from: datetime, window_to: datetime,
                  bucket_s: float, bucket_origin: datetime, include_tests: bool,
                  edges_ms: list[float], *, left_out: Iterable[str] = (),
                  only: Iterable[str] = ()) -> tuple[list[dict], list[dict]]:
        """Attempt counts and latency buckets of archived attempts in ``[from, to)``, in the
        shape of the ``breakdown_counts`` and ``breakdown_latency`` queries; destinations in
        ``left_out`` are not counted, and only those in ``only`` when it is not empty."""
        if not self.files["attempts"] or not brands or window_to <= window_from:
            return [], []
        bucket = (f"to_timestamp($origin_s + floor((epoch(started_at) - $origin_s) / "
                  f"{float(bucket_s)}) * {float(bucket_s)})")
        where = ("started_at >= $window_from AND started_at < $window_to "
                 "AND list_contains($brand_ids, brand_id) "
                 "AND ($include_tests OR origin <> 'integration_test') "
                 "AND NOT list_contains($left_out, destination) "
                 "AND (len($only) = 0 OR list_contains($only, destination))")
        params = dict(window_from=window_from, window_to=window_to,
                      brand_ids=list(brands), include_tests=include_tests,
                      origin_s=bucket_origin.timestamp(), left_out=_texts(left_out),
                      only=_texts(only))
        casts = {"brand_ids": "INTEGER[]", "origin_s": "DOUBLE", "left_out": "VARCHAR[]",
                 "only": "VARCHAR[]"}
        counts = self._rows(f"""
            SELECT {bucket} AS bucket, brand_id, destination, response_status, outcome,
                   error_class, error_code, count(*) AS attempts,
                   count(*) FILTER (WHERE attempt_no = 1) AS first_attempts,
                   count(*) FILTER (WHERE attempt_no > 1) AS retries,
                   coalesce(sum(duration_ms) FILTER (WHERE outcome NOT IN ('sending', 'unknown')),
                            0) AS duration_ms_sum
            FROM {self.source("attempts")}
            WHERE {where}
            GROUP BY ALL ORDER BY 1""", params, casts=casts)
        for row in counts:
            row["brand"] = brands.get(row.pop("brand_id"))
        latency = self._rows(f"""
            SELECT {bucket} AS bucket, destination,
                   len(list_filter($edges, lambda e: e <= duration_ms)) AS latency_bucket,
                   count(*) AS attempts
            FROM {self.source("attempts")}
            WHERE {where} AND duration_ms IS NOT NULL
              AND outcome NOT IN ('sending', 'unknown')
            GROUP BY ALL ORDER BY 1""", dict(params, edges=[float(e) for e in edges_ms]),
            casts=dict(casts, edges="DOUBLE[]"))
        return counts, latency

    # --- plumbing -----------------------------------------------------------------------------

    def source(self, table: str) -> str:
        """The table's files as a DuckDB ``read_parquet`` expression."""
        files = ", ".join("'" + f.replace("'", "''") + "'" for f in self.files[table])
        return f"read_parquet([{files}])"

    def _rows(self, query: str, params: dict, casts: dict[str, str] | None = None
              ) -> list[dict]:
        # Typed parameters: DuckDB cannot tell the type of an empty list or of a NULL.
        for name, kind in (casts or {}).items():
            query = query.replace(f"${name}", f"CAST(${name} AS {kind})")
        used = {k: v for k, v in params.items() if f"${k}" in query}
        with duckdb.connect() as db:
            db.execute("SET TimeZone = 'UTC'")
            cursor = db.execute(query, used)
            names = [d[0] for d in cursor.description]
            rows = [dict(zip(names, r, strict=False)) for r in cursor.fetchall()]
        for row in rows:
            for key in _JSON_COLUMNS & row.keys():
                if isinstance(row[key], str):
                    row[key] = json.loads(row[key])
            _mask(row)
        return rows


def _mask(row: dict) -> None:
    """Mask an archived attempt as it is read: files written before migration 018 hold
    Foreign-Params values that were left in clear or cut to their last four characters, and
    Parquet files are not rewritten. Fingerprints stay; any other value becomes ``***`` (the
    reader has no fingerprint key, nor the brand's visible keys), and what the request's
    Foreign-Params still held in clear is masked wherever the answer echoes it."""
    headers = row.get("request_headers")
    if not isinstance(headers, dict):
        return
    session = headers.get("Foreign-Params", headers.get("foreign-params"))
    row["request_headers"] = masking.KEYLESS.headers(headers)
    if isinstance(row.get("response_headers"), dict):
        row["response_headers"] = masking.KEYLESS.headers(row["response_headers"])
    if session:
        secrets = masking.KEYLESS.secrets(str(session))
        for key in _ECHO_COLUMNS & row.keys():
            if isinstance(row[key], str):
                row[key] = secrets.text(row[key])


def held_partitions(conn: sa.Connection) -> list[str]:
    """The monthly attempt partitions PostgreSQL holds now, oldest first (any role may ask)."""
    return list(conn.execute(sql.query("archive.sql", "attempt_partitions"))
                .scalars())


def open_archive(folder: Path, held_partitions: Iterable[str]) -> Archive:
    """The archive in ``folder``; ``held_partitions`` are the attempt partitions PostgreSQL
    still holds (their archived attempts, if any, are not read)."""
    folder = Path(folder)
    manifest = Manifest.load(folder)
    held = set(held_partitions)
    files: dict[str, list[str]] = {t: [] for t in TABLES}
    holds_before = None
    for entry in sorted(manifest.entries.values(), key=lambda e: e.stem):
        present = {t: folder / entry.file(t) for t in TABLES}
        if not all(p.exists() for p in present.values()):
            continue
        for table in ("callbacks", "bets"):
            files[table].append(str(present[table]))
        if entry.state == DROPPED or entry.partition not in held:
            files["attempts"].append(str(present["attempts"]))
            if holds_before is None or entry.month_to > holds_before:
                holds_before = entry.month_to
    return Archive(folder, {t: tuple(v) for t, v in files.items()}, holds_before)


def reaches(archive: Archive, since: datetime) -> bool:
    """True when a window starting at ``since`` reaches past what PostgreSQL holds."""
    return archive.holds_before is not None and since < archive.holds_before


def _texts(values) -> list[str]:
    return [str(v) for v in values or ()]


def _ints(values) -> list[int]:
    return [int(v) for v in values or ()]


def utc(value: datetime | None) -> datetime | None:
    """A datetime in UTC (DuckDB and PostgreSQL rows compare and sort alike)."""
    return value.astimezone(UTC) if value is not None else None
