"""Brand isolation, enforced by PostgreSQL's row-level security and proved through the pages:
an analyst of brand bravo who pastes brand alpha's ids into ?bet=, ?group_ids=, ?attempt=,
?run= or ?brand= sees nothing of alpha, and nor does an export; the same links show alpha's
rows to an admin (so the checks can fail). The role still cannot write."""
from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from conftest import RUN_TIMEOUT_S
from dashboard_apptest import ADMIN, app_script, make_user, shown, signed_in, texts
from scopes import set_scope
from streamlit.testing.v1 import AppTest

from dashboard import auth, connection, queries
from dashboard.filters import EPOCH, HistoryFilter
from dashboard.tables import HISTORY_EXPORT
from users import store as accounts

ANALYST = "bravo-analyst"


@pytest.fixture(scope="module")
def alpha(scenario_db):
    """Alpha's ids an attacker could paste: its attempts' Attempt IDs and a stored run."""
    make_user(scenario_db, ANALYST, accounts.ANALYST, brands=["bravo"])
    with scenario_db.begin() as conn:
        brand_id = conn.execute(sa.text("SELECT id FROM brands WHERE name = 'alpha'")).scalar()
        attempts = list(conn.execute(sa.text(
            "SELECT id::text FROM attempts WHERE brand_id = :b"), {"b": brand_id}).scalars())
        run_id = conn.execute(sa.text(
            "INSERT INTO integration_runs (brand_id, base_url, triggered_by, source, status, "
            "timeout_s, cases_total, started_at) VALUES (:b, 'http://alpha.example/cb', "
            "'alpha-run-owner', 'cli', 'success', 2, 0, now()) RETURNING id"),
            {"b": brand_id}).scalar()
    assert len(attempts) >= 5
    return {"brand_id": brand_id, "attempts": attempts, "run_id": run_id}


def _open(engine, user: str, page: str, **params) -> AppTest:
    app = AppTest.from_function(app_script, args=(page,), default_timeout=RUN_TIMEOUT_S)
    app.context = {"timezone": "UTC"}
    signed_in(app, engine, user)
    app.query_params.update(params)
    app.run()
    assert not app.exception, [e.message for e in app.exception]
    return app


def _everything_shown(app: AppTest) -> str:
    """Texts, table cells, expander labels, button labels and select options, one string."""
    parts = [texts(app)]
    parts += [d.value.to_csv() for d in app.dataframe]
    parts += [str(getattr(e, "label", "")) for e in app.expander]
    parts += [str(b.label) for b in app.button]
    parts += [json.dumps(list(s.options)) for s in app.selectbox]
    return "\n".join(parts)


def _links(alpha: dict) -> list[tuple[str, dict]]:
    some = alpha["attempts"][0]
    return [
        ("investigate", {"bet": "bet-5xx"}),
        ("investigate", {"bet": "bet-5xx", "brand": "alpha"}),
        ("history", {"group_ids": "bet-5xx bet-delivered", "window": "Any time"}),
        ("history", {"attempt": some, "window": "Any time"}),
        ("history", {"attempt": some, "window": "Any time", "brand": "alpha"}),
        ("bets", {"bet_id": "bet-5xx", "created": "Any time"}),
        ("bets", {"created": "Any time", "brand": "alpha"}),
        ("sender", {"group_ids": "bet-retrying"}),
        ("breakdowns", {"window": "Last 7 days", "brand": "alpha"}),
        ("integration_test", {"brand": "alpha", "run": str(alpha["run_id"])}),
    ]


def _alpha_seen(shown: str, alpha: dict, pasted: dict | None = None) -> list[str]:
    """Alpha's data on the page; an id the link itself pasted may be echoed ("No attempt with
    Attempt ID ... in this brand"), but no other of alpha's ids, nor its runs or answers."""
    echoed = set((pasted or {}).values())
    marks = [a for a in alpha["attempts"] if a not in echoed] + [
        "alpha-run-owner", "http://alpha.example", "Service Unavailable"]
    return [m for m in marks if m in shown]


def test_pasted_ids_and_edited_parameters_show_nothing_of_another_brand(scenario_db,
                                                                        reader_env, alpha):
    for page, params in _links(alpha):
        # Given the links an analyst of bravo could paste or edit, When they open them
        app = _open(scenario_db, ANALYST, page, **params)
        shown = _everything_shown(app)
        # Then nothing of alpha shows: no Attempt ID, run, URL or platform answer
        assert not _alpha_seen(shown, alpha, params), (page, params,
                                                       _alpha_seen(shown, alpha, params))
        assert "alpha" not in json.dumps([list(s.options) for s in app.selectbox]), (page,
                                                                                    params)


def test_the_same_links_show_alpha_to_an_admin(scenario_db, reader_env, alpha):
    seen = set()
    for page, params in _links(alpha):
        seen.update(_alpha_seen(_everything_shown(_open(scenario_db, ADMIN, page, **params)),
                                alpha))
    assert "alpha-run-owner" in seen and "Service Unavailable" in seen
    assert seen & set(alpha["attempts"])


def test_the_brand_selector_offers_only_the_users_brands(scenario_db, reader_env, alpha):
    # An analyst of one brand is shown that brand, not "All brands"
    analyst = _open(scenario_db, ANALYST, "bets")
    assert analyst.selectbox(key="brand").options == ["bravo"]
    assert analyst.selectbox(key="brand").value == "bravo"
    admin = _open(scenario_db, ADMIN, "bets")
    assert admin.selectbox(key="brand").options == ["All brands", "alpha", "bravo"]


def test_a_linked_brand_the_user_does_not_have_is_said_so(scenario_db, reader_env, alpha):
    # The same words for a brand that exists and one that does not: nothing is told about
    # other tenants
    for asked in ("alpha", "no-such-brand"):
        analyst = _open(scenario_db, ANALYST, "history", brand=asked)
        assert [shown(w.value) for w in analyst.warning] == [
            f"Brand '{asked}' is not one of your brands — showing bravo."]
        assert analyst.selectbox(key="brand").value == "bravo"


def test_an_admins_cached_results_are_not_served_to_an_analyst(scenario_db, reader_env, alpha):
    # Given an admin's page run that cached every bet of the last day for "All brands"
    admin = _open(scenario_db, ADMIN, "bets")
    assert "bet-5xx" in admin.dataframe[0].value.to_csv()
    # When an analyst of bravo opens the same page with the same filters at once
    analyst = _open(scenario_db, ANALYST, "bets")
    # Then they get their own brand's rows, not the admin's cached ones
    table = analyst.dataframe[0].value.to_csv() if analyst.dataframe else ""
    assert "bet-5xx" not in table and "bet-gaveup" in table


def test_csv_export_holds_only_the_users_brands(scenario_db, reader_env, alpha):
    everything = HistoryFilter(EPOCH, EPOCH.replace(year=2100))
    with auth.seeing([alpha["brand_id"] + 1]):  # bravo
        lines = queries.history_csv(everything, HISTORY_EXPORT, "UTC").decode().splitlines()
        asked = HistoryFilter(EPOCH, EPOCH.replace(year=2100), brand_id=alpha["brand_id"],
                              group_ids=("bet-5xx",))
        pasted = queries.history_csv(asked, HISTORY_EXPORT, "UTC").decode().splitlines()
    assert len(lines) > 1 and all(line.startswith("bet-gaveup,") for line in lines[1:])
    assert len(pasted) == 1  # the header only
    with auth.seeing(None):
        assert len(queries.history_csv(asked, HISTORY_EXPORT, "UTC").splitlines()) > 1


def test_without_a_brand_setting_the_reader_sees_nothing_and_never_writes(scenario_db,
                                                                         reader_env, alpha):
    engine = connection.make_engine(reader_env, brands=lambda: "")
    tables = ("brands", "bets", "callbacks", "attempts", "attempt_rollup_hourly",
              "attempt_latency_hourly", "integration_runs", "integration_cases",
              "integration_steps")
    try:
        with engine.connect() as conn:
            for table in tables:
                assert conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar() == 0, \
                    table
        seeing_all = connection.make_engine(reader_env, brands=lambda: "*")
        with seeing_all.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text("SET default_transaction_read_only = off"))
            set_scope(scenario_db, conn, "*", local=False)
            assert conn.execute(sa.text("SELECT count(*) FROM bets")).scalar() > 0
            for statement in ("UPDATE bets SET status = 'SETTLED'", "DELETE FROM attempts",
                              "INSERT INTO integration_runs (brand_id, base_url, triggered_by,"
                              " source, status, timeout_s, cases_total, started_at) VALUES "
                              "(1, 'x', 'x', 'cli', 'running', 1, 0, now())"):
                with pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
                    conn.execute(sa.text(statement))
            # a partition read directly would skip the policies: it cannot be read at all
            parts = [r[0] for r in conn.execute(sa.text(
                "SELECT inhrelid::regclass::text FROM pg_inherits "
                "WHERE inhparent = 'attempts'::regclass"))]
            assert parts
            for part in parts:
                with pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
                    conn.execute(sa.text(f"SELECT count(*) FROM {part}"))
        seeing_all.dispose()
    finally:
        engine.dispose()


def test_a_partition_made_later_is_not_readable_either(scenario_db, reader_env):
    with scenario_db.begin() as conn:
        conn.execute(sa.text("SELECT ensure_attempt_partitions('2031-01-01', 1)"))
    engine = sa.create_engine(reader_env)
    try:
        with engine.connect() as conn, pytest.raises(sa.exc.ProgrammingError,
                                                     match="permission denied"):
            conn.execute(sa.text("SELECT count(*) FROM attempts_2031_01"))
    finally:
        engine.dispose()
        with scenario_db.begin() as conn:
            conn.execute(sa.text("DROP TABLE attempts_2031_01"))
