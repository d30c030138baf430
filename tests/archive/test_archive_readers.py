"""Reading the archive back: Callback history spanning PostgreSQL and Parquet, an archived bet
investigated from its Bet ID (the page's query and the page itself), `callbacks history`, the
Breakdowns counts — and never another brand's rows."""
from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
import streamlit as st
from archive_scenarios import OLD, build
from cli import run_cli
from dashboard_apptest import ADMIN, app_script, make_user, signed_in, texts
from databases import empty
from streamlit.testing.v1 import AppTest

from archive.export import archive
from dashboard import auth, connection, queries
from dashboard.filters import EPOCH, HistoryFilter
from dashboard.shaping import group_by_bet
from delivery import brands as delivery_brands
from users import store as accounts


@pytest.fixture(scope="module")
def archived(engine, database_url, tmp_path_factory):
    """The scenario with its old month archived; yields the archive folder."""
    folder = tmp_path_factory.mktemp("archive")
    empty(engine)
    build(engine)
    report = archive(engine, older_than=timedelta(days=90), folder=folder)
    assert any(p.action == "archived" for p in report.partitions)
    make_user(engine, ADMIN)
    make_user(engine, "sam", accounts.ANALYST, brands=["south"])
    yield folder
    empty(engine)


@pytest.fixture
def reader(archived, database_url, monkeypatch):
    """Pages and queries read the test database as callbacks_reader, and the archive; queries
    called outside a page see every brand (pages see their signed-in user's)."""
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("DASHBOARD_DATABASE_URL", connection.reader_url(database_url))
    monkeypatch.setenv("DATABASE_URL", database_url)  # sign-in: accounts and sessions
    monkeypatch.setenv("CALLBACKS_ARCHIVE_DIR", str(archived))
    st.cache_data.clear()
    st.cache_resource.clear()
    with auth.seeing(None):
        yield archived
    st.cache_data.clear()


def open_page(engine, page: str, user: str = ADMIN, **params) -> AppTest:
    app = AppTest.from_function(app_script, args=(page,), default_timeout=60)
    app.context = {"timezone": "UTC"}
    signed_in(app, engine, user)
    for name, value in params.items():
        app.query_params[name] = value
    app.run()
    assert not app.exception, [e.message for e in app.exception]
    return app


def brand_id(engine, name: str) -> int:
    return delivery_brands.brand_named(engine, name).id


def everything(brand: int | None = None, **over) -> HistoryFilter:
    now = datetime.now(UTC)
    return HistoryFilter(over.pop("created_from", EPOCH), now + timedelta(days=1), brand,
                         **over)


def test_history_spans_postgresql_and_the_archive(reader, engine):
    # Given attempts of two years ago (archived) and of today (in PostgreSQL)
    page = queries.fetch_history(everything(), None, limit=50)
    groups = [r["group_id"] for r in page.rows]
    # Then one list holds both: the bet with the newest callback first, each bet's attempts
    # together and as they were sent
    assert set(groups) == {"new-north-1", "new-south-1", "old-north-1", "old-north-refused",
                           "old-south-1", "old-south-refused"}
    assert len(page.rows) == 10
    bets = list(dict.fromkeys(groups))
    assert groups == [g for g in bets for _ in range(groups.count(g))]
    newest = [max(r["callback_created_at"] for r in page.rows if r["group_id"] == g)
              for g in bets]
    assert newest == sorted(newest, reverse=True)
    for bet in bets:
        sent = [(r["callback_created_at"], r["callback_order"], r["attempt_no"])
                for r in page.rows if r["group_id"] == bet]
        assert sent == sorted(sent), bet
    old = [r for r in page.rows if r["group_id"] == "old-north-refused"]
    assert [(r["response_status"], r["outcome"], r["brand"]) for r in old] == [
        (400, "rejected", "north")]
    assert old[0]["callback_state"] == "rejected"


def test_history_pages_through_both_stores_without_gaps_or_repeats(reader, engine):
    seen, cursor = [], None
    for _ in range(10):
        page = queries.fetch_history(everything(), cursor, limit=3)
        assert page.rows == group_by_bet(page.rows)  # each page shown by bet
        seen += [r["attempt_id"] for r in page.rows]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert len(seen) == 10 == len(set(seen))


def test_a_window_inside_postgresql_does_not_read_the_archive(reader, engine):
    recent = everything(created_from=datetime.now(UTC) - timedelta(days=1))
    groups = {r["group_id"] for r in queries.fetch_history(recent, None).rows}
    assert groups == {"new-north-1", "new-south-1"}


def test_archived_history_is_limited_to_the_brand(reader, engine):
    north = brand_id(engine, "north")
    rows = queries.fetch_history(everything(north), None).rows
    assert {r["brand"] for r in rows} == {"north"}
    assert {r["group_id"] for r in rows} == {"new-north-1", "old-north-1", "old-north-refused"}
    # An archived attempt of another brand is not shown by its Attempt ID either
    south_old = [r for r in queries.fetch_history(everything(brand_id(engine, "south")),
                                                  None).rows
                 if r["group_id"] == "old-south-1"][0]
    assert queries.attempt(south_old["attempt_id"], north) is None
    detail = queries.attempt(south_old["attempt_id"], None)
    assert detail["group_id"] == "old-south-1"
    assert detail["payload"]["bet_id"] == "old-south-1"
    assert detail["request_headers"]["X-Request-ID"] == south_old["attempt_id"]


def test_an_archived_bet_is_investigated_from_its_bet_id(reader, engine):
    found = queries.fetch_investigation("old-north-1", None)
    assert found["archived"]
    assert found["bet"]["bet_id"] == "old-north-1"
    assert found["bet"]["brand"] == "north"
    assert [c["destination"] for c in found["callbacks"]] == ["/bet/place", "/bet/accept",
                                                              "/bet/settle"]
    assert [a["outcome"] for a in found["attempts"]] == ["delivered"] * 3
    # and not from a brand that does not own it
    elsewhere = queries.fetch_investigation("old-north-1", brand_id(engine, "south"))
    assert (elsewhere["bet"], elsewhere["callbacks"], elsewhere["attempts"]) == (None, [], [])
    assert elsewhere["other_brand"] == "north"


def test_investigate_page_explains_an_archived_bet(reader, engine):
    app = open_page(engine, "investigate", bet="old-north-refused")
    page = texts(app)
    assert "read from the archive" in page
    summary = app.code[-1].value
    assert "Bet ID: old-north-refused" in summary
    assert "not_enough_balance" in page
    evidence = app.dataframe[0].value
    assert list(evidence["Response code"]) == ["400"]
    assert f"{OLD:%Y-%m-%d}" in " ".join(evidence["Sent at"])


def test_history_page_lists_archived_attempts(reader, engine):
    app = open_page(engine, "history", window="Any time", group_ids="old-south-1")
    table = app.dataframe[0].value
    assert list(table["Group ID"]) == ["old-south-1"] * 3
    # Selecting an archived attempt shows everything recorded about it
    attempt_id = queries.fetch_history(everything(group_ids=("old-south-1",)), None
                                       ).rows[0]["attempt_id"]
    app.query_params["attempt"] = attempt_id
    app.run()
    assert not app.exception, [e.message for e in app.exception]
    assert "/bet/place · attempt 1 of 1 · 204 · delivered" in texts(app)
    assert any('"bet_id": "old-south-1"' in c.value for c in app.code)


def test_an_analyst_never_sees_another_brands_archived_rows(reader, engine):
    # Given sam, an analyst of brand south only
    # When sam pastes a north bet's id, and lists every attempt of any time
    investigate = open_page(engine, "investigate", user="sam", bet="old-north-refused")
    history = open_page(engine, "history", user="sam", window="Any time")
    # Then the archive shows sam south's rows only
    assert "read from the archive" not in texts(investigate)
    assert "not_enough_balance" not in texts(investigate)
    summary = investigate.code[-1].value
    assert "Brand: north" not in summary and "PLACE_ERROR" not in summary
    assert "none is queued now" in summary  # no trace of it, as far as sam can see
    groups = set(history.dataframe[0].value["Group ID"])
    assert groups == {"new-south-1", "old-south-1", "old-south-refused"}
    north_request = [r for r in queries.fetch_history(everything(), None).rows
                     if r["group_id"] == "old-north-1"][0]["attempt_id"]
    expanded = open_page(engine, "history", user="sam", window="Any time",
                         attempt=north_request)
    assert "old-north-1" not in texts(expanded)


def test_breakdowns_count_archived_months(reader, engine):
    old_from = OLD - timedelta(days=3)
    counts, latency = queries.fetch_breakdown(None, old_from, old_from + timedelta(days=30),
                                              timedelta(days=1),
                                              datetime(2000, 1, 1, tzinfo=UTC), False)
    assert counts["attempts"].sum() == 8
    assert set(counts["brand"]) == {"north", "south"}
    assert counts.loc[counts["response_status"] == 400, "attempts"].sum() == 2
    assert latency["attempts"].sum() == 8
    north, _ = queries.fetch_breakdown(brand_id(engine, "north"), old_from,
                                       old_from + timedelta(days=30), timedelta(days=1),
                                       datetime(2000, 1, 1, tzinfo=UTC), False)
    assert north["attempts"].sum() == 4


def test_callbacks_history_command_reads_the_archive(reader, database_url):
    env = {"DATABASE_URL": database_url, "CALLBACKS_ARCHIVE_DIR": str(reader)}
    shown = run_cli("history", "old-south-1", env=env)
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert [line.split()[2] for line in lines] == ["/bet/place", "/bet/accept", "/bet/settle"]
    assert all("(archive)" in line for line in lines)
    as_json = run_cli("history", "old-south-1", "--json", env=env)
    attempts = json.loads(as_json.stdout)
    assert [a["payload"]["bet_id"] for a in attempts] == ["old-south-1"] * 3
    assert {a["callback_state"] for a in attempts} == {"delivered"}


def test_archives_written_before_masking_by_default_are_masked_as_they_are_read(
        archived, engine, tmp_path):
    import shutil

    import pyarrow as pa
    import pyarrow.parquet as pq

    from archive.reader import open_archive

    # Given an archive written before migration 018: Foreign-Params in clear or cut to their
    # last four characters, and an answer that echoes the session
    old = tmp_path / "old"
    shutil.copytree(archived, old)
    [path] = (old / "attempts").glob("*.parquet")
    table = pq.read_table(path)
    header = json.dumps({"Foreign-Params": json.dumps(
        {"token": "***3456", "pwd": "hunter2-pwd-value", "devices": [{"otp": "731904"}]}),
        "X-Request-ID": "r"})
    echo = json.dumps({"error": {"code": "no", "data": {"pwd": "hunter2-pwd-value",
                                                        "seen": "otp 731904"}}})
    for column, value in (("request_headers", header), ("response_body", echo)):
        table = table.set_column(table.schema.get_field_index(column), column,
                                 pa.array([value] * table.num_rows, pa.string()))
    pq.write_table(table, path)
    # When it is read (history, one attempt, a bet's attempts)
    folder = open_archive(old, held_partitions=[])
    brands = {b.id: b.name for b in delivery_brands.all_brands(engine)}
    rows = folder.attempts_of("old-north-1", brands, 100)
    listed = folder.history(brands, {"created_from": EPOCH,
                                     "created_to": EPOCH.replace(year=2100)}, 100)
    one = folder.attempt(rows[0]["attempt_id"], brands)
    # Then no secret and no last characters show; values are masked whole
    shown = json.dumps([rows, listed, one], default=str)
    assert rows and listed and one
    for secret in ("hunter2-pwd-value", "731904"):
        assert secret not in shown
    assert json.loads(one["request_headers"]["Foreign-Params"]) == {
        "token": "***", "pwd": "***", "devices": [{"otp": "***"}]}
    assert json.loads(one["response_body"])["error"]["data"] == {"pwd": "***",
                                                                 "seen": "otp ***"}
    assert "request_headers" not in listed[0]


def test_reconcile_reads_archived_callbacks_of_its_brand_only(reader, database_url, tmp_path):
    import csv

    import duckdb

    with duckdb.connect() as db:
        ours = db.execute(
            f"SELECT bet_id, destination, request_id FROM "
            f"read_parquet('{reader}/callbacks/*.parquet') ORDER BY id").fetchall()
    assert {b for b, _, _ in ours} >= {"old-north-1", "old-south-1"}
    amounts = {"/bet/place": "-10.00", "/bet/settle": "25.00"}
    rows = [dict(bet_id=b, request_id=r, amount=amounts[d]) for b, d, r in ours
            if b == "old-north-1" and d in amounts]
    with (tmp_path / "ledger.csv").open("w", newline="") as out:
        writer = csv.DictWriter(out, ["bet_id", "request_id", "amount"])
        writer.writeheader()
        writer.writerows(rows[:1])   # the archived settle is left out on purpose
        writer.writerow(dict(bet_id="old-south-1", request_id="r-south", amount="-10.00"))
    env = {"DATABASE_URL": database_url, "CALLBACKS_ARCHIVE_DIR": str(reader)}
    result = run_cli("reconcile", "--brand", "north", str(tmp_path / "ledger.csv"), "--json",
                     env=env)
    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    assert report["archived_callbacks"] == 4   # old-north-1's three, old-north-refused's place
    verdicts = {m["bet_id"]: m["verdict"] for m in report["mismatches"]}
    settle = next(r for b, d, r in ours if b == "old-north-1" and d == "/bet/settle")
    assert verdicts["old-north-1"] == "missing_on_platform"
    assert settle in next(m for m in report["mismatches"]
                          if m["bet_id"] == "old-north-1")["request_ids"]
    assert verdicts["old-north-refused"] == "rejected_by_platform"
    # another brand's bet is unknown to this brand, archived or not
    assert verdicts["old-south-1"] == "unknown_to_us"


def test_bets_page_finds_archived_bets_by_their_ids_in_any_window(reader, engine):
    # Given bets archived two years ago, the Bets list's default window (Last 7 days)
    app = open_page(engine, "bets", bet="old-north-1 new-south-1,old-south-refused")
    table = app.dataframe[0].value
    assert list(table["Bet ID"]) == ["new-south-1", "old-south-refused", "old-north-1"]
    assert table.set_index("Bet ID").loc["old-north-1", "Callbacks"] == "✓ delivered"
    assert "Searched all time for 3 Bet IDs (archive included)" in texts(app)
    # and never another brand's archived bet
    sam = open_page(engine, "bets", user="sam", bet="old-north-1")
    assert not sam.dataframe and "No data" in texts(sam)
