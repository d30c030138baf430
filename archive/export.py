"""``callbacks archive``: move whole monthly attempt partitions past the retention to Parquet.

For each partition whose month ended before the cutoff, oldest first:

1. **export** — its attempts (player sessions' heartbeats among them: no callback, the session
   as their group), and the finished callbacks and bets that only archived attempts
   reference, are read from PostgreSQL in chunks (one REPEATABLE READ snapshot) and handed to
   DuckDB as Arrow tables; DuckDB writes each table to Parquet under a temporary name, the file
   is read back and counted, then renamed into place. The manifest records ``exported``.
2. **prune** — one transaction deletes those callbacks and bets; what it deletes must be exactly
   what was exported (count and digest of the keys), otherwise nothing is deleted and the
   partition is exported again (a callback was retried, or another one finished, meanwhile).
   The manifest records ``pruned``.
3. **drop** — one short transaction checks the partition still holds exactly the exported
   attempts, drops it with its Breakdowns rollups and records it in ``archived_partitions``.
   The manifest records ``dropped``.

A crash anywhere leaves PostgreSQL holding every row the archive does not, and a rerun carries
on from the manifest: an export is redone (its files replaced), a prune or drop is repeated.
Several processes may start the archive; one runs at a time (a PostgreSQL advisory lock).
"""
from __future__ import annotations

import json
import logging
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path

import duckdb
import pyarrow as pa
import sqlalchemy as sa

import sql
from delivery import store
from delivery.errors import CallbackDeskError

from .layout import DROPPED, EXPORTED, PRUNED, TABLES, Entry, Manifest, partition_month, sync_folder
from .reader import held_partitions

log = logging.getLogger(__name__)

#: Rows read from PostgreSQL and handed to DuckDB at a time.
CHUNK_ROWS = 20_000
#: The shortest retention accepted: the month being written must never be archived.
MIN_OLDER_THAN = timedelta(days=1)
#: How long the drop waits for the attempts table's lock before trying again (workers write
#: attempts all the time; a long wait would hold them up behind it).
DROP_LOCK_TIMEOUT_MS = 2_000
#: Tries of the drop before the run gives up (the next run tries again).
DROP_TRIES = 5

_TS = pa.timestamp("us", tz="UTC")

#: The Parquet columns of each table (JSON documents are kept as their text).
SCHEMAS = {
    "attempts": pa.schema([
        ("id", pa.string()), ("callback_id", pa.int64()), ("group_id", pa.string()),
        ("brand_id", pa.int32()), ("destination", pa.string()), ("origin", pa.string()),
        ("attempt_no", pa.int32()), ("callback_created_at", _TS), ("scheduled_at", _TS),
        ("started_at", _TS), ("finished_at", _TS), ("duration_ms", pa.float64()),
        ("request_headers", pa.string()), ("response_status", pa.int32()),
        ("response_headers", pa.string()), ("response_body", pa.string()),
        ("response_truncated", pa.bool_()), ("outcome", pa.string()),
        ("error_class", pa.string()), ("error_detail", pa.string()),
        ("error_code", pa.string()), ("next_attempt_at", _TS)]),
    "callbacks": pa.schema([
        ("id", pa.int64()), ("request_id", pa.string()), ("brand_id", pa.int32()),
        ("bet_id", pa.string()), ("destination", pa.string()), ("payload", pa.string()),
        ("origin", pa.string()), ("state", pa.string()), ("attempts", pa.int32()),
        ("next_attempt_at", _TS), ("last_status", pa.int32()), ("last_error", pa.string()),
        ("created_at", _TS), ("finished_at", _TS)]),
    "bets": pa.schema([
        ("bet_id", pa.string()), ("brand_id", pa.int32()), ("player_id", pa.string()),
        ("bet_type", pa.int16()), ("stake", pa.string()), ("odds", pa.string()),
        ("system_sizes", pa.list_(pa.int32())), ("status", pa.string()),
        ("restrictions", pa.string()), ("placed_at", _TS), ("created_at", _TS),
        ("updated_at", _TS)]),
}
#: Query of each table's rows, and the key its digest is taken over.
_QUERIES = {"attempts": "partition_attempts", "callbacks": "archivable_callbacks",
            "bets": "archivable_bets"}
_KEYS = {"attempts": "id", "callbacks": "id", "bets": "bet_id"}
#: Sort order inside each file: a bet's rows sit together, so a lookup by Bet ID reads little.
_ORDER = {"attempts": "group_id, started_at", "callbacks": "bet_id, id", "bets": "bet_id"}


class ArchiveError(CallbackDeskError):
    """The archive could not complete; nothing was lost. The message says what to do."""


class ArchiveBusy(ArchiveError):
    """Another archive run holds the lock. Wait for it to finish, then run again."""


@dataclass
class PartitionResult:
    """What happened to one partition in a run."""

    partition: str
    action: str  #: archived, would archive, held back
    rows: dict[str, int] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)
    note: str | None = None


@dataclass
class Report:
    cutoff: datetime
    folder: Path
    dry_run: bool
    partitions: list[PartitionResult] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return {"cutoff": self.cutoff.isoformat(), "dir": str(self.folder),
                "dry_run": self.dry_run, "kept": self.kept,
                "partitions": [p.__dict__ for p in self.partitions]}


@cache
def _of_partition(name: str, partition: str) -> sa.TextClause:
    """The block ``name`` of ``sql/archive.sql`` with a checked partition name in place of
    ``{partition}`` (a table name cannot be a parameter)."""
    if partition_month(partition) is None:
        raise ValueError(f"not an attempt partition: {partition!r}")
    return sa.text(sql.queries("archive.sql")[name].replace("{partition}", f'"{partition}"'))


def archive(engine: sa.Engine, *, older_than: timedelta, folder: Path, dry_run: bool = False,
            now: datetime | None = None,
            on_step: Callable[[str, Entry], None] | None = None) -> Report:
    """Archive every partition whose month ended more than ``older_than`` before ``now``.

    ``on_step(step, entry)`` is called after each of ``exported``, ``pruned`` and ``dropped``.
    """
    if older_than < MIN_OLDER_THAN:
        raise ArchiveError(f"--older-than must be at least {MIN_OLDER_THAN.days} day: the "
                           "current month's attempts are still being written")
    now = now or datetime.now(UTC)
    cutoff = now - older_than
    folder = Path(folder).absolute()
    report = Report(cutoff, folder, dry_run)
    with engine.connect() as lock_conn:
        if not lock_conn.execute(sql.query("archive.sql", "archive_lock")).scalar():
            raise ArchiveBusy("another `callbacks archive` run is in progress (perhaps the "
                              "scheduler's daily one); wait for it to finish and run again")
        lock_conn.commit()
        try:
            _run(engine, lock_conn, folder, cutoff, report, on_step or (lambda s, e: None))
        finally:
            lock_conn.execute(sql.query("archive.sql", "archive_unlock"))
            lock_conn.commit()
    return report


def _run(engine, conn, folder: Path, cutoff: datetime, report: Report, on_step) -> None:
    held = held_partitions(conn)
    conn.commit()
    if not report.dry_run:
        _ensure_writable(folder)
    manifest = Manifest.load(folder)
    for _stem, entry in list(manifest.entries.items()):
        if entry.state == PRUNED and entry.partition not in held:
            # A run stopped after dropping the partition and before writing it down.
            _finish_drop(engine, manifest, entry, folder)
            on_step("dropped", entry)
    for partition in held:
        month_from, month_to = partition_month(partition)
        if month_to > cutoff:
            report.kept.append(partition)
            continue
        if report.dry_run:
            report.partitions.append(_preview(engine, partition, month_to))
            continue
        report.partitions.append(_archive_partition(engine, manifest, folder, partition,
                                                    on_step))


def _ensure_writable(folder: Path) -> None:
    try:
        for table in TABLES:
            (folder / table).mkdir(parents=True, exist_ok=True)
        probe = folder / ".write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise ArchiveError(f"cannot write to the archive folder {folder}: {exc.strerror}; "
                           "pick another with --dir or CALLBACKS_ARCHIVE_DIR") from None


def _preview(engine, partition: str, month_to: datetime) -> PartitionResult:
    with engine.connect() as conn:
        rows = {"attempts": conn.execute(_of_partition("partition_count", partition)).scalar_one()}
        for table in ("callbacks", "bets"):
            rows[table] = conn.execute(sa.text(
                f"SELECT count(*) FROM ({sql.queries('archive.sql')[_QUERIES[table]]}) q"),
                {"month_to": month_to}).scalar_one()
        sending = _sending(conn, partition)
    return PartitionResult(partition, "held back" if sending else "would archive", rows,
                           note=_sending_note(sending) if sending else None)


def _sending(conn, partition: str) -> int:
    return conn.execute(sa.text(f"SELECT count(*) FROM \"{partition}\" "
                                "WHERE outcome = 'sending'")).scalar_one()


def _sending_note(count: int) -> str:
    return (f"{count} attempt(s) still sending (their answers are not recorded yet); it is "
            "archived by a later run")


def _archive_partition(engine, manifest: Manifest, folder: Path, partition: str,
                       on_step) -> PartitionResult:
    month_from, month_to = partition_month(partition)
    open_entries = [e for e in manifest.of_partition(partition) if e.state != DROPPED]
    entry = open_entries[-1] if open_entries else None
    if entry is None or entry.state == EXPORTED:
        with engine.connect() as conn:
            sending = _sending(conn, partition)
        if sending:
            return PartitionResult(partition, "held back", note=_sending_note(sending))
    if entry is None:
        preview = _preview(engine, partition, month_to)
        if not any(preview.rows.values()):
            _drop_empty(engine, partition, month_from, month_to, folder)
            return PartitionResult(partition, "dropped (empty)", preview.rows)
        entry = Entry(manifest.new_stem(partition), partition, month_from, month_to, EXPORTED)
    for attempt in range(2):
        if entry.state == EXPORTED:
            if attempt or not _files_match(folder, entry):
                _export(engine, folder, entry)
                manifest.entries[entry.stem] = entry
                manifest.save()
                on_step("exported", entry)
            if not _prune(engine, entry):
                log.warning("%s: rows changed since they were exported; exporting again",
                            partition)
                continue
            entry.state = PRUNED
            manifest.save()
            on_step("pruned", entry)
        break
    else:
        raise ArchiveError(f"{partition}: its callbacks keep changing while it is archived; "
                           "nothing was deleted — run the archive again later")
    _drop(engine, entry)
    _finish_drop(engine, manifest, entry, folder)
    on_step("dropped", entry)
    return PartitionResult(partition, "archived", dict(entry.rows),
                           [str(folder / entry.file(t)) for t in TABLES])


# --- export ---------------------------------------------------------------------------------

def _export(engine, folder: Path, entry: Entry) -> None:
    """Write the entry's three files (replacing any earlier ones) and fill in its counts."""
    scratch = folder / ".tmp"
    scratch.mkdir(exist_ok=True)
    db_path = scratch / f"{entry.stem}.duckdb"
    _remove(db_path)
    db = duckdb.connect(str(db_path))
    try:
        db.execute("SET TimeZone = 'UTC'")
        params = {"month_to": entry.month_to}
        with engine.connect().execution_options(isolation_level="REPEATABLE READ",
                                                stream_results=True) as conn:
            for table in TABLES:
                query = (_of_partition(_QUERIES[table], entry.partition) if table == "attempts"
                         else sql.query("archive.sql", _QUERIES[table]))
                entry.rows[table] = _stage(db, table, conn.execute(query, params))
        for table in TABLES:
            entry.digests[table] = _write_parquet(db, folder, entry, table)
    finally:
        db.close()
        _remove(db_path)
        _remove(db_path.with_name(db_path.name + ".wal"))
    entry.state = EXPORTED
    entry.exported_at = datetime.now(UTC)


def _stage(db: duckdb.DuckDBPyConnection, table: str, result) -> int:
    schema = SCHEMAS[table]
    db.register("chunk", pa.Table.from_pylist([], schema))
    db.execute(f"CREATE OR REPLACE TABLE staged_{table} AS SELECT * FROM chunk")
    db.unregister("chunk")
    count = 0
    for rows in result.mappings().partitions(CHUNK_ROWS):
        db.register("chunk", pa.Table.from_pylist([dict(r) for r in rows], schema))
        db.execute(f"INSERT INTO staged_{table} SELECT * FROM chunk")
        db.unregister("chunk")
        count += len(rows)
    return count


def _write_parquet(db, folder: Path, entry: Entry, table: str) -> str:
    final = folder / entry.file(table)
    tmp = final.with_name(final.name + ".tmp")
    db.execute(f"COPY (SELECT * FROM staged_{table} ORDER BY {_ORDER[table]}) TO "
               f"{_literal(tmp)} (FORMAT parquet, COMPRESSION zstd)")
    count, digest = file_digest(db, tmp, table)
    if count != entry.rows[table]:
        raise ArchiveError(f"{tmp} holds {count} rows instead of {entry.rows[table]}; nothing "
                           "was deleted — check the disk and run the archive again")
    with open(tmp, "rb") as stream:
        os.fsync(stream.fileno())
    os.replace(tmp, final)
    sync_folder(final.parent)
    return digest


def file_digest(db, path: Path, table: str) -> tuple[int, str]:
    """Rows of a Parquet file and the digest of their keys (as PostgreSQL computes it when
    deleting them)."""
    key = _KEYS[table]
    return db.execute(
        f"SELECT count(*), coalesce(md5(string_agg(CAST({key} AS VARCHAR), ',' "
        f"ORDER BY {key})), '') FROM read_parquet({_literal(path)})").fetchone()


def _files_match(folder: Path, entry: Entry) -> bool:
    """True when the entry's files are all there with the rows it recorded."""
    if not entry.rows:
        return False
    db = duckdb.connect()
    try:
        for table in TABLES:
            path = folder / entry.file(table)
            if not path.exists():
                return False
            if file_digest(db, path, table) != (entry.rows.get(table),
                                                entry.digests.get(table)):
                return False
    except duckdb.Error:
        return False
    finally:
        db.close()
    return True


def _literal(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def _remove(path: Path) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        pass


# --- prune and drop -------------------------------------------------------------------------

def _prune(engine, entry: Entry) -> bool:
    """Delete the exported callbacks and bets; False (and nothing deleted) when PostgreSQL's
    rows are no longer exactly the exported ones."""
    try:
        with engine.begin() as conn:
            attempts = conn.execute(_of_partition("partition_count", entry.partition)).scalar_one()
            callbacks, bets = store.delete_archived(conn, entry.month_to)
            if (attempts != entry.rows["attempts"]
                    or (callbacks.n, callbacks.digest) != (entry.rows["callbacks"],
                                                           entry.digests["callbacks"])
                    or (bets.n, bets.digest) != (entry.rows["bets"], entry.digests["bets"])):
                raise _Changed()
    except (_Changed, sa.exc.IntegrityError):
        # Rolled back. IntegrityError: a new callback for one of the bets arrived meanwhile.
        return False
    return True


class _Changed(Exception):
    """PostgreSQL's rows differ from the exported ones: roll the prune back."""


def _drop(engine, entry: Entry) -> None:
    """Drop the partition and its rollups, after checking it holds exactly what was exported."""
    for attempt in range(1, DROP_TRIES + 1):
        try:
            with engine.begin() as conn:
                conn.execute(sa.text(f"SET LOCAL lock_timeout = {DROP_LOCK_TIMEOUT_MS}"))
                conn.execute(sa.text(f'LOCK TABLE "{entry.partition}" IN ACCESS EXCLUSIVE MODE'))
                count = conn.execute(_of_partition("partition_count", entry.partition)).scalar_one()
                if count != entry.rows["attempts"]:
                    raise ArchiveError(
                        f"{entry.partition} now holds {count} attempts, {entry.rows['attempts']} "
                        "were exported; it is kept. Attempts should never be written into a "
                        "month this old — check the clocks of the workers")
                store.drop_archived_month(conn, entry.partition, entry.month_from,
                                          entry.month_to)
            return
        except sa.exc.OperationalError as exc:
            if getattr(exc.orig, "pgcode", None) != "55P03" or attempt == DROP_TRIES:
                raise
            log.info("%s is busy; trying the drop again", entry.partition)
            time.sleep(attempt)


def _drop_empty(engine, partition: str, month_from: datetime, month_to: datetime,
                folder: Path) -> None:
    """An old partition with nothing in it (and no callbacks or bets to go with it) is dropped
    without writing files."""
    entry = Entry(partition, partition, month_from, month_to, EXPORTED,
                  rows={t: 0 for t in TABLES})
    _drop(engine, entry)
    with engine.begin() as conn:
        conn.execute(sql.query("archive.sql", "record_archived"), dict(
            name=partition, month_from=month_from, month_to=month_to, archive_dir=str(folder),
            attempts=0, callbacks=0, bets=0, files="{}",
            exported_at=datetime.now(UTC)))


def _finish_drop(engine, manifest: Manifest, entry: Entry, folder: Path) -> None:
    entry.state = DROPPED
    entry.dropped_at = datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(sql.query("archive.sql", "record_archived"), dict(
            name=entry.partition, month_from=entry.month_from, month_to=entry.month_to,
            archive_dir=str(folder), attempts=entry.rows.get("attempts", 0),
            callbacks=entry.rows.get("callbacks", 0), bets=entry.rows.get("bets", 0),
            files=_files_json(entry), exported_at=entry.exported_at or entry.dropped_at))
    manifest.entries[entry.stem] = entry
    manifest.save()
    shutil.rmtree(folder / ".tmp", ignore_errors=True)


def _files_json(entry: Entry) -> str:
    return json.dumps({entry.stem: {t: entry.file(t) for t in TABLES}})


def parse_age(text: str) -> timedelta:
    """``90d``, ``12w``, ``36h`` or a plain number of days → a timedelta."""
    raw = text.strip().lower()
    units = {"d": 1.0, "w": 7.0, "h": 1 / 24}
    unit = raw[-1:] if raw[-1:] in units else "d"
    number = raw[:-1] if raw[-1:] in units else raw
    try:
        value = float(number)
    except ValueError:
        raise ArchiveError(f"--older-than {text!r} is not an age; write it like 90d, 12w or "
                           "2160h") from None
    if value <= 0:
        raise ArchiveError(f"--older-than {text!r} must be greater than 0")
    return timedelta(days=value * units[unit])
