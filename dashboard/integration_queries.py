"""Reads of the Integration Test page (named blocks of ``sql/integration.sql``), bounded, through
whatever engine the dashboard reads with (the read-only role); and the URLs a brand's battery may
run against, which ``callbacks brand test-url add|list|remove`` manages as the owner."""
from __future__ import annotations

import sqlalchemy as sa

import sql
from battery.reports import run_from_rows
from battery.results import RunResult
from delivery import audit, urls
from delivery.errors import InvalidInput, UnknownBrand

#: Most runs the history panel lists.
HISTORY_LIMIT = 50


def _q(name: str) -> sa.TextClause:
    return sa.text(sql.queries("integration.sql")[name])


def _rows(engine: sa.Engine, query: str, **params) -> list[dict]:
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(_q(query), params)]


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


def add_test_url(engine: sa.Engine, brand: str, url: str, *, actor: audit.Actor | None = None,
                 reason: str | None = None) -> bool:
    """Register ``url`` for the brand's Integration Test; False when it was registered already.
    :class:`InvalidInput` for a URL that breaks the URL rule (:mod:`delivery.urls`) or carries
    credentials, :class:`UnknownBrand` for no brand. With ``actor`` the addition is recorded
    (``test_url.add``)."""
    url = urls.parse_without_credentials(
        url, what="test URL", instead="register it without them: the Integration Test sends "
        "the brand's credentials with the brand's own URL only")
    with engine.begin() as conn:
        added = conn.execute(_q("add_test_url"), {"brand": brand, "url": url}).first()
        if added is None:
            _require_brand(conn, brand)
        elif actor is not None:
            audit.record(conn, actor=actor, kind="test_url.add", brand_id=added.brand_id,
                         subject=url, after={"url": url}, reason=reason)
    return added is not None


def remove_test_url(engine: sa.Engine, brand: str, url: str, *,
                    actor: audit.Actor | None = None, reason: str | None = None) -> None:
    """Stop offering ``url`` for the brand's Integration Test (as typed, or as the URL rule
    writes it: scheme and host in lower case); recorded as ``test_url.remove`` with
    ``actor``."""
    url = url.strip()
    try:
        spellings = dict.fromkeys([url, urls.parse(url).url])
    except InvalidInput:
        spellings = {url: None}
    with engine.begin() as conn:
        found = [conn.execute(_q("remove_test_url"), {"brand": brand, "url": u}).first()
                 for u in spellings]
        removed = next((r for r in found if r is not None), None)
        if removed is None:
            _require_brand(conn, brand)
            shown = urls.redact(url)
            raise InvalidInput(f"{shown!r} is not a test URL of brand {brand!r}; `callbacks "
                               f"brand test-url list {brand}` shows them", field="url",
                               value=shown)
        if actor is not None:
            audit.record(conn, actor=actor, kind="test_url.remove", brand_id=removed.brand_id,
                         subject=removed.url, before={"url": removed.url}, reason=reason)


def all_test_urls(engine: sa.Engine, brand: str | None = None) -> list[dict]:
    """Every registered test URL (of one brand): ``{brand, url, added_at}``."""
    with engine.connect() as conn:
        if brand is not None:
            _require_brand(conn, brand)
        return [dict(r._mapping) for r in conn.execute(_q("all_test_urls"), {"brand": brand})]


def _require_brand(conn: sa.Connection, name: str) -> None:
    if conn.execute(_q("brand_by_name"), {"name": name}).first() is None:
        raise UnknownBrand(f"no brand called {name!r}; `callbacks brand list` shows the brands",
                           field="brand", value=name)
