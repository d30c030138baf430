"""The schema and the named queries, kept as SQL files.

``migrations/NNN_name.sql`` are applied in order by :mod:`delivery.migrate`; ``queries.sql``
holds named blocks (``-- name: claim_due``) that :mod:`delivery.store` runs. This loader is the
only code that reads them.
"""
from __future__ import annotations

import re
from functools import cache
from importlib import resources

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


def migrations() -> list[tuple[str, str]]:
    """``[(version, sql), ...]`` in the order they must be applied."""
    folder = resources.files(__package__).joinpath("migrations")
    files = sorted(f for f in folder.iterdir() if f.name.endswith(".sql"))
    return [(f.name.removesuffix(".sql"), f.read_text()) for f in files]
