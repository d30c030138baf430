"""Reads of the Integration Test page (named blocks of ``sql/integration.sql``), bounded, through
whatever engine the dashboard reads with (the read-only role), and the URLs a brand's battery may
run against (``callbacks brand test-url add|list|remove`` manages them as the owner, through
:mod:`battery.store`)."""
from __future__ import annotations

import sqlalchemy as sa

import sql
from battery.reports import run_from_rows
from battery.results import RunResult

#: Most runs the history panel lists.
HISTORY_LIMIT = 50


def _rows(engine: sa.Engine, query: str, **params) -> list[dict]:
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(sql.query("integration.sql", query), params)]


def brand_names(engine: sa.Engine) -> list[str]:
    """Every brand's name, sorted."""
    return [r["name"] for r in _rows(engine, "brand_names")]


def brand(engine: sa.Engine, name: str) -> dict | None:
    """``{id, name, base_url, timeout_s}`` of the brand called ``name``, or None."""
    found = _rows(engine, "brand_by_name", name=name)
    return found[0] if found else None


def runs_of_brand(engine: sa.Engine, brand_id: int, limit: int = HISTORY_LIMIT) -> list[dict]:
    """The brand's latest runs, newest first: status, who, when, how long, how many passed."""
    return _rows(engine, "runs_of_brand", brand_id=brand_id, limit=min(limit, HISTORY_LIMIT))


def load_run(engine: sa.Engine, run_id: int, brand_id: int | None = None) -> RunResult | None:
    """A stored run with its cases and steps, or None when there is no such run (of that brand,
    when ``brand_id`` is given)."""
    found = _rows(engine, "run", run_id=run_id)
    if not found or (brand_id is not None and found[0]["brand_id"] != brand_id):
        return None
    return run_from_rows(found[0], _rows(engine, "run_cases", run_id=run_id),
                         _rows(engine, "run_steps", run_id=run_id))


# --- the URLs a battery may run against -----------------------------------------------------

def test_urls(engine: sa.Engine, brand_id: int) -> list[str]:
    """The brand's own URL first, then those registered for testing it, oldest first."""
    return [r["url"] for r in _rows(engine, "test_urls", brand_id=brand_id)]
