"""Reading the operator's ledger: CSV and Parquet, columns by name or mapped, and one line that
says what is wrong with a file that cannot be used — on the command line, exit 2, no
traceback, nothing written."""
from datetime import UTC, datetime
from decimal import Decimal

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from cli import run_cli
from reconcile_kit import add_brand

from reconcile.ledger import LedgerError, load, parse_columns


@pytest.fixture
def db():
    with duckdb.connect() as conn:
        conn.execute("SET TimeZone = 'UTC'")
        yield conn


def write(tmp_path, text: str, name: str = "ledger.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def rows(db):
    return db.execute("SELECT line, bet_id, amount, request_id, player_id, booked_at, currency "
                      "FROM ledger ORDER BY line").fetchall()


def test_a_csv_ledger_with_every_column(db, tmp_path):
    path = write(tmp_path, "Bet_ID,amount,request_id,player_id,at,currency,note\n"
                           " b-1 , -10.50 ,r-1,p-1,2026-12-01T10:00:00Z,eur,x\n"
                           "b-1,78.125,,p-1,2026-12-01 11:00:00+01:00,EUR,\n")
    info = load(db, path)
    assert (info.rows, info.kind, info.by_request, info.has_at, info.has_currency) == (
        2, "csv", True, True, True)
    assert rows(db) == [
        (2, "b-1", Decimal("-10.5"), "r-1", "p-1", datetime(2026, 12, 1, 10, tzinfo=UTC), "EUR"),
        (3, "b-1", Decimal("78.125"), None, "p-1", datetime(2026, 12, 1, 10, tzinfo=UTC),
         "EUR")]


def test_only_bet_id_and_amount_are_needed(db, tmp_path):
    info = load(db, write(tmp_path, "bet_id,amount\nb-1,5\n"))
    assert (info.by_request, info.has_at, info.has_currency) == (False, False, False)


def test_columns_can_be_mapped(db, tmp_path):
    path = write(tmp_path, "ticket;delta;idem\nb-1;-3.00;r-9\n")
    info = load(db, path, parse_columns(["bet_id=ticket", "amount=Delta", "request_id=idem"]))
    assert info.columns == {"bet_id": "ticket", "amount": "delta", "request_id": "idem"}
    assert rows(db)[0][1:4] == ("b-1", Decimal("-3"), "r-9")


def test_a_parquet_ledger_keeps_number_and_time_types(db, tmp_path):
    path = tmp_path / "ledger.parquet"
    pq.write_table(pa.table({
        "bet_id": ["b-1", "b-2"], "amount": [-10.5, 0.1 + 0.2],
        "at": pa.array([datetime(2026, 12, 1, 10, tzinfo=UTC)] * 2, pa.timestamp("us", "UTC")),
    }), path)
    info = load(db, path)
    assert info.kind == "parquet"
    assert [r[2] for r in rows(db)] == [Decimal("-10.5"), Decimal("0.3")]
    assert rows(db)[0][5] == datetime(2026, 12, 1, 10, tzinfo=UTC)


@pytest.mark.parametrize(("text", "message"), [
    ("bet,amount\nb-1,5\n", "has no column 'bet_id' (its columns: bet, amount)"),
    ("bet_id,amount\nb-1,5\nb-2,abc\n", "line 3: amount 'abc' is not a number"),
    ("bet_id,amount\nb-1,\n", "line 2: amount is empty"),
    ("bet_id,amount\n,5\n", "line 2: bet_id is empty"),
    ("bet_id,amount,at\nb-1,5,yesterday\n", "line 2: at 'yesterday' is not a time"),
    ("bet_id,amount,currency\nb-1,5,€\n", "currency '€' is not a currency code"),
    ("bet_id,amount\n", "has no rows"),
    ("", "is empty"),
])
def test_a_ledger_that_cannot_be_used_is_named_in_one_line(db, tmp_path, text, message):
    with pytest.raises(LedgerError) as raised:
        load(db, write(tmp_path, text))
    assert message in str(raised.value)
    assert "\n" not in str(raised.value)


def test_a_mapping_to_a_missing_column_says_so(db, tmp_path):
    with pytest.raises(LedgerError, match=r"--column amount=delta names no column"):
        load(db, write(tmp_path, "bet_id,amount\nb-1,5\n"), {"amount": "delta"})


def test_a_file_that_is_not_a_ledger(db, tmp_path):
    path = tmp_path / "ledger.parquet"
    path.write_bytes(b"PAR1 not really")
    with pytest.raises(LedgerError, match="cannot be read as PARQUET"):
        load(db, path)
    with pytest.raises(LedgerError, match="no such file"):
        load(db, tmp_path / "absent.csv")


@pytest.mark.parametrize("item", ["amount", "amount=", "=delta", "stake=delta"])
def test_column_options_must_name_a_ledger_column(item):
    with pytest.raises(LedgerError, match="--column"):
        parse_columns([item])


@pytest.mark.parametrize(("args", "message"), [
    (["--column", "stake=x"], "'stake' is not a ledger column"),
    (["--since", "last tuesday"], "--since 'last tuesday' is not a time"),
    (["--since", "2026-12-02", "--until", "2026-12-01"], "--until '2026-12-01' is not after"),
])
def test_bad_options_exit_2(args, message, tmp_path):
    result = run_cli("reconcile", "--brand", "north", str(tmp_path / "x.csv"), *args)
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr


def test_bad_input_on_the_command_line_exits_2_and_writes_nothing(clean_db, database_url,
                                                                  tmp_path):
    add_brand(clean_db, "north", "http://127.0.0.1:9")
    ledger = write(tmp_path, "bet_id,amount\nb-1,twelve\n")
    out = tmp_path / "report.csv"
    env = {"DATABASE_URL": database_url}
    result = run_cli("reconcile", "--brand", "north", str(ledger), "--csv", str(out), env=env)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"error: ledger {str(ledger)!r} line 2: amount 'twelve' is not a number (write a plain "
        "decimal such as -12.50)"]
    assert not out.exists() and list(tmp_path.iterdir()) == [ledger]
    unknown = run_cli("reconcile", "--brand", "nowhere", str(ledger), env=env)
    assert unknown.returncode == 2 and "no brand named 'nowhere'" in unknown.stderr
