"""Where archived rows live on disk, and the manifest that says what each file holds.

One folder (``CALLBACKS_ARCHIVE_DIR``)::

    manifest.json
    attempts/attempts_2024_07.parquet      every attempt of the partition attempts_2024_07
    callbacks/attempts_2024_07.parquet     finished callbacks whose last attempt was in it
    bets/attempts_2024_07.parquet          bets all of whose callbacks went with it

A file appears only complete: it is written under a temporary name, read back and counted, then
renamed. The manifest (rewritten the same way) records each export's state:

- ``exported`` — the files are complete and checked; PostgreSQL still holds every row;
- ``pruned`` — the callbacks and bets are deleted from PostgreSQL; the partition still exists;
- ``dropped`` — the partition is dropped: the archive alone holds these rows.
"""
from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

#: The tables an export writes, in the order they are written.
TABLES = ("attempts", "callbacks", "bets")
MANIFEST = "manifest.json"
EXPORTED, PRUNED, DROPPED = "exported", "pruned", "dropped"

_PARTITION = re.compile(r"^attempts_(\d{4})_(\d{2})$")


def partition_month(name: str) -> tuple[datetime, datetime] | None:
    """``attempts_2024_07`` → its ``[from, to)`` in UTC; None for any other name."""
    m = _PARTITION.match(name)
    if not m:
        return None
    year, month = int(m.group(1)), int(m.group(2))
    if not 1 <= month <= 12:
        return None
    start = datetime(year, month, 1, tzinfo=UTC)
    end = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=UTC)
    return start, end


@dataclass
class Entry:
    """One export: a partition's rows (``stem`` is the partition name, or ``name.N`` when the
    partition came back after it was dropped once)."""

    stem: str
    partition: str
    month_from: datetime
    month_to: datetime
    state: str
    rows: dict[str, int] = field(default_factory=dict)
    digests: dict[str, str] = field(default_factory=dict)
    exported_at: datetime | None = None
    dropped_at: datetime | None = None

    def file(self, table: str) -> str:
        """Path of one of its files, relative to the archive folder."""
        return f"{table}/{self.stem}.parquet"

    def to_json(self) -> dict:
        return dict(partition=self.partition, month_from=self.month_from.isoformat(),
                    month_to=self.month_to.isoformat(), state=self.state, rows=self.rows,
                    digests=self.digests, files={t: self.file(t) for t in TABLES},
                    exported_at=_iso(self.exported_at), dropped_at=_iso(self.dropped_at))

    @classmethod
    def from_json(cls, stem: str, raw: dict) -> Entry:
        return cls(stem, raw["partition"], datetime.fromisoformat(raw["month_from"]),
                   datetime.fromisoformat(raw["month_to"]), raw["state"], dict(raw["rows"]),
                   dict(raw.get("digests") or {}), _from_iso(raw.get("exported_at")),
                   _from_iso(raw.get("dropped_at")))


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _from_iso(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


class Manifest:
    """The archive folder's ``manifest.json``: ``{stem: Entry}``."""

    def __init__(self, folder: Path, entries: dict[str, Entry] | None = None):
        self.folder = Path(folder)
        self.entries = entries or {}

    @classmethod
    def load(cls, folder: Path) -> Manifest:
        """The manifest of ``folder`` (empty when there is none yet)."""
        path = Path(folder) / MANIFEST
        try:
            raw = json.loads(path.read_text())
        except FileNotFoundError:
            return cls(folder)
        return cls(folder, {stem: Entry.from_json(stem, e)
                            for stem, e in raw.get("exports", {}).items()})

    def save(self) -> None:
        """Write the manifest atomically (a crash leaves the old one or the new one)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        body = json.dumps({"version": 1, "exports": {
            stem: e.to_json() for stem, e in sorted(self.entries.items())}}, indent=2)
        write_atomically(self.folder / MANIFEST, body.encode())

    def of_partition(self, partition: str) -> list[Entry]:
        """Exports of one partition, oldest first."""
        return sorted((e for e in self.entries.values() if e.partition == partition),
                      key=lambda e: (len(e.stem), e.stem))

    def new_stem(self, partition: str) -> str:
        """The stem of a new export of ``partition``."""
        taken = {e.stem for e in self.of_partition(partition)}
        if partition not in taken:
            return partition
        n = 2
        while f"{partition}.{n}" in taken:
            n += 1
        return f"{partition}.{n}"


def write_atomically(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as stream:
        stream.write(data)
        stream.flush()
        os.fsync(stream.fileno())
    os.replace(tmp, path)
    sync_folder(path.parent)


def sync_folder(folder: Path) -> None:
    """Make a rename in ``folder`` durable."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
