"""The back-office on a database that is unavailable: a lost connection of any kind (an
OperationalError, or any DBAPI error SQLAlchemy marks as a lost connection), a busy pool or a
refused connection is one line that says "Database unavailable" — on a page, in an action's
dialog and at start-up — while other database errors keep their own message."""
from __future__ import annotations

import psycopg2
import pytest
import sqlalchemy as sa
from streamlit.testing.v1 import AppTest

from dashboard import acting, components, connection

SERVER_GONE = ("server closed the connection unexpectedly\n\tThis probably means the server "
               "terminated abnormally\n\tbefore or while processing the request.")


def lost(invalidated: bool = True) -> sa.exc.DBAPIError:
    """What SQLAlchemy raises when a server goes away mid-statement without an
    OperationalError: a DatabaseError marked as a lost connection."""
    return sa.exc.DatabaseError("SELECT 1", {}, psycopg2.DatabaseError(SERVER_GONE),
                                connection_invalidated=invalidated)


@pytest.mark.parametrize("exc, reason", [
    (lost(), "server closed the connection unexpectedly"),
    (sa.exc.OperationalError("SELECT 1", {}, psycopg2.OperationalError(
        "connection to server at \"db\" failed: timeout expired\n")),
     'connection to server at "db" failed: timeout expired'),
    (sa.exc.TimeoutError("QueuePool limit of size 4 overflow 4 reached"),
     "every database connection is busy"),
    (lost(invalidated=False), None),
    (sa.exc.ProgrammingError("SELECT x", {}, psycopg2.ProgrammingError("no column x")), None),
])
def test_what_counts_as_the_database_being_unavailable(exc, reason):
    assert connection.unavailable_reason(exc) == reason


#: A page whose body raises ``ERRORS[kind]``.
PAGE = """
import psycopg2
import sqlalchemy as sa

from dashboard import components

ERRORS = {{
    "lost": sa.exc.DatabaseError("SELECT 1", {{}}, psycopg2.DatabaseError(
        "server closed the connection unexpectedly\\n\\tThis probably means..."),
        connection_invalidated=True),
    "busy": sa.exc.TimeoutError("QueuePool limit of size 4 overflow 4 reached"),
    "wrong": sa.exc.IntegrityError("INSERT", {{}}, psycopg2.IntegrityError("dup")),
}}


@components.guarded
def render():
    raise ERRORS[{kind!r}]


render()
"""


def _page_raising(kind: str) -> AppTest:
    return AppTest.from_string(PAGE.format(kind=kind)).run()


@pytest.mark.parametrize("kind", ["lost", "busy"])
def test_a_page_whose_database_is_unavailable_says_so_in_one_line(kind):
    app = _page_raising(kind)
    assert not app.exception
    assert [e.value for e in app.error] == [components.UNAVAILABLE]
    assert "\n" not in components.UNAVAILABLE
    assert components.UNAVAILABLE.startswith("Database unavailable")


def test_other_database_errors_on_a_page_keep_their_message():
    app = _page_raising("wrong")
    assert [e.value for e in app.error] == [components.NOT_SHOWN]


def test_an_action_on_an_unavailable_database_says_so_in_one_line_and_changes_nothing():
    def script():
        import psycopg2
        import sqlalchemy as sa

        from dashboard import acting

        acting._refused(sa.exc.DatabaseError("UPDATE callbacks", {}, psycopg2.DatabaseError(
            "server closed the connection unexpectedly\n\tThis probably means..."),
            connection_invalidated=True))

    app = AppTest.from_function(script).run()
    assert not app.exception and not app.text
    [shown] = [e.value for e in app.error]
    assert shown == acting.unavailable_message("server closed the connection unexpectedly")
    assert shown.startswith("Database unavailable: cannot act as callbacks_operator")
    assert "Nothing was changed" in shown and "\n" not in shown


def test_an_action_lets_other_database_errors_through_to_the_page():
    def script():
        import psycopg2
        import sqlalchemy as sa

        from dashboard import acting

        acting._refused(sa.exc.IntegrityError("UPDATE callbacks", {},
                                              psycopg2.IntegrityError("dup")))

    app = AppTest.from_function(script).run()
    assert app.exception and not app.error


def test_a_database_that_refuses_connections_is_unavailable_in_one_line_at_start():
    engine = connection.make_engine("postgresql://callbacks_reader@127.0.0.1:1/nowhere")
    with pytest.raises(connection.DashboardUnavailable) as raised:
        connection.check(engine)
    said = str(raised.value)
    assert said.startswith("database unavailable: cannot connect to ")
    assert "\n" not in said and "DASHBOARD_DATABASE_URL" in said
    engine.dispose()
