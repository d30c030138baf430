"""The schema and the named queries, kept as SQL files.

``migrations/NNN_name.sql`` are applied in order by :mod:`delivery.migrate`; every other file
holds named blocks, each opened by ``-- name: claim_due`` and the comment lines that say what it
does::

    -- name: claim_due
    -- Due callbacks of brands under their cap, leased to the caller.
    WITH due AS ...

Code runs a block with ``conn.execute(sql.query("queries.sql", "claim_due"), params)``. This
loader is the only code that reads the files.
"""
from __future__ import annotations

import re
from functools import cache
from importlib import resources

import sqlalchemy as sa

_NAME = re.compile(r"^--\s*name:\s*(\w+)\s*$", re.MULTILINE)


@cache
def queries(filename: str = "queries.sql") -> dict[str, str]:
    """Named blocks of a query file: ``{"claim_due": "WITH due AS ...", ...}``."""
    text = resources.files(__package__).joinpath(filename).read_text()
    parts = _NAME.split(text)
    named = {}
    for name, body in zip(parts[1::2], parts[2::2], strict=False):
        if name in named:
            raise ValueError(f"{filename}: query {name!r} is defined twice")
        named[name] = body.strip().rstrip(";")
    return named


@cache
def query(filename: str, name: str) -> sa.TextClause:
    """The block ``name`` of ``filename``, ready to execute; a clear error names what is missing."""
    blocks = queries(filename)
    if name not in blocks:
        raise KeyError(f"{filename} has no query named {name!r}")
    return sa.text(blocks[name])


@cache
def descriptions(filename: str) -> dict[str, str]:
    """What each block of a query file says it does: the comment lines right under its name
    (empty when it says nothing)."""
    said = {}
    for name, body in queries(filename).items():
        lines = []
        for line in body.splitlines():
            if not line.startswith("--"):
                break
            lines.append(line.removeprefix("--").strip())
        said[name] = " ".join(lines).strip()
    return said


#: The generated schema (see :mod:`delivery.schema_dump`): SQL, but no named blocks.
SCHEMA_FILE = "schema.sql"


def query_files() -> list[str]:
    """Every file of named blocks (all ``*.sql`` but the migrations and the generated schema)."""
    return sorted(f.name for f in resources.files(__package__).iterdir()
                  if f.name.endswith(".sql") and f.name != SCHEMA_FILE)


def migrations() -> list[tuple[str, str]]:
    """``[(version, sql), ...]`` in the order they must be applied; each text is the file's
    bytes decoded as UTF-8, unchanged (so its checksum is the file's)."""
    folder = resources.files(__package__).joinpath("migrations")
    files = sorted((f for f in folder.iterdir() if f.name.endswith(".sql")),
                   key=lambda f: f.name)
    return [(f.name.removesuffix(".sql"), f.read_bytes().decode("utf-8")) for f in files]
