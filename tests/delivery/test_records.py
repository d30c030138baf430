"""The records and their states: one StrEnum per state machine, equal to the schema's text; the
store never reaches HTTP; every queue query says what it does."""
import ast
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

import sql
from delivery.decisions import classify, next_state
from delivery.records import (
    FINAL_STATES,
    OPEN_STATES,
    AttemptOutcome,
    CallbackState,
    Decision,
)

ROOT = Path(__file__).resolve().parent.parent.parent
#: The SQL files of the queue, its brands, player sessions, audit trail and producer API.
QUEUE_SQL = ("queries.sql", "heartbeats.sql", "stopping.sql", "brands.sql",
             "player_sessions.sql", "audit.sql", "api.sql")


def _checked_values(engine, table: str, column: str) -> set[str]:
    """The values the schema's CHECK constraint allows in ``table.column``."""
    with engine.connect() as conn:
        texts = conn.execute(sa.text(
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = CAST(:table AS regclass) AND contype = 'c'"), {"table": table})
        found = [t for t in texts.scalars() if f"({column} = ANY" in t or f"{column} IN" in t]
    assert len(found) == 1, found
    return set(re.findall(r"'(\w+)'::text", found[0]))


def test_the_callback_states_are_those_the_schema_allows(engine):
    assert {s.value for s in CallbackState} == _checked_values(engine, "callbacks", "state")
    assert set(OPEN_STATES) | set(FINAL_STATES) == set(CallbackState)
    assert not set(OPEN_STATES) & set(FINAL_STATES)


def test_the_attempt_outcomes_are_those_the_schema_allows(engine):
    assert {o.value for o in AttemptOutcome} == _checked_values(engine, "attempts", "outcome")


def test_a_state_is_its_own_text():
    # Given a member and the text a row or a JSON document carries
    # Then they are equal, hash alike and print alike
    assert CallbackState.DELIVERED == "delivered"
    assert {"delivered": 1}[CallbackState.DELIVERED] == 1
    assert f"{AttemptOutcome.SENDING}" == "sending"


@pytest.mark.parametrize(("status", "attempt_no", "expected"), [
    (204, 1, CallbackState.DELIVERED),
    (500, 2, CallbackState.EXHAUSTED),
])
def test_next_state_returns_a_decision(status, attempt_no, expected):
    decision = next_state(classify("/bet/place", status), attempt_no, (0, 5), datetime.now(UTC))
    assert isinstance(decision, Decision)
    assert decision.state is expected and decision.next_attempt_at is None


def _imports(path: Path) -> set[str]:
    """Every module ``path`` imports, relative ones as written (``.sender``)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = "." * node.level + (node.module or "")
            found.add(base)
            found |= {f"{base.rstrip('.')}.{alias.name}" if node.module else base + alias.name
                      for alias in node.names}
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
    return found


@pytest.mark.parametrize("module", ["store", "records", "requests", "decisions", "brands"])
def test_the_store_and_its_records_never_import_the_sender(module):
    imports = _imports(ROOT / "delivery" / f"{module}.py")
    assert not {".sender", "..sender", "delivery.sender"} & imports, imports


@pytest.mark.parametrize("filename", QUEUE_SQL)
def test_every_queue_query_says_what_it_does(filename):
    silent = [name for name, said in sql.descriptions(filename).items() if not said]
    assert not silent, f"{filename}: blocks without a description: {silent}"
