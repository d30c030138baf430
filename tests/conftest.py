"""Shared fixtures: a PostgreSQL database of this run's own, and the engine on it.

See :mod:`databases` for which server is used; each run creates, migrates and drops its own
database, so runs never see each other's data. The browser tests' fixtures (one Chromium and
one dashboard server per run) come from :mod:`browsers`.
"""
from __future__ import annotations

import pytest
from databases import empty, scratch_database

from delivery import database

pytest_plugins = ["browsers"]


@pytest.fixture(scope="session")
def database_url():
    """URL of a freshly created and migrated database, dropped after the run."""
    with scratch_database() as url:
        yield url


@pytest.fixture(scope="session")
def engine(database_url):
    engine = database.make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def clean_db(engine):
    """The database emptied of brands, bets, callbacks, attempts and broker messages."""
    empty(engine)
    return engine
