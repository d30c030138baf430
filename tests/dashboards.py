"""The real back-office for browser tests: ``callbacks dashboard`` on a free port."""
from __future__ import annotations

import os
from contextlib import contextmanager

import sqlalchemy as sa
from databases import empty

from callbacks.dashboard import launch, wait_ready


@contextmanager
def running(database_url: str, environ: dict | None = None):
    """``callbacks dashboard`` on the database (with ``environ`` added to its environment, not
    to this process's): its URL once it answers; stopped afterwards."""
    saved = {name: os.environ.get(name) for name in environ or {}}
    os.environ.update(environ or {})
    try:
        process, url = launch(database_url, port=0)
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    try:
        wait_ready(process, url, timeout_s=60)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=20)


@contextmanager
def serving(engine: sa.Engine, database_url: str, environ: dict | None = None):
    """:func:`running`, and the database emptied afterwards."""
    try:
        with running(database_url, environ) as url:
            yield url
    finally:
        empty(engine)
