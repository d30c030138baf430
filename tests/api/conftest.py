"""Fixtures of the producer API tests: a database with brand ``acme`` and no API tokens, and the
API served over HTTP accepting the environment token ``api_testkit.TOKEN``."""
from __future__ import annotations

import httpx
import pytest
import sqlalchemy as sa
from api_testkit import AUTH, TOKEN, serve

from api.app import create_app
from delivery import brands


@pytest.fixture
def api_db(clean_db):
    """The emptied database with brand acme (whose platform nobody answers) and no tokens."""
    with clean_db.begin() as conn:
        conn.execute(sa.text("TRUNCATE api_tokens RESTART IDENTITY CASCADE"))
    brands.add_brand(clean_db, "acme", "http://127.0.0.1:9", retry_schedule_s=(0, 0, 0))
    return clean_db


@pytest.fixture(scope="module")
def api_url(engine):
    with serve(create_app(engine, tokens=[TOKEN])) as url:
        yield url


@pytest.fixture
def client(api_db, api_url):
    """An HTTP client of the API that sends the valid environment token."""
    with httpx.Client(base_url=api_url, headers=AUTH, timeout=30) as http:
        yield http


@pytest.fixture
def anonymous(api_db, api_url):
    """An HTTP client of the API that sends no token."""
    with httpx.Client(base_url=api_url, timeout=30) as http:
        yield http
