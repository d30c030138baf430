"""The pass reads amounts as text and makes the Decimals itself: the very values DuckDB's own
conversion gives, digits and exponent alike."""
import duckdb

from reconcile.ledger import AMOUNT_TYPE
from reconcile.run import _money

AMOUNTS = ["-10.00", "0", "0.00", "25", "-0.5", "78.125", "0.000000000001",
           "123456789012345678901234.123456789012", "-99999999999999999999999999.999999999999"]


def test_amounts_read_as_text_are_the_decimals_duckdb_gives():
    with duckdb.connect() as db:
        rows = db.execute(f"""
            SELECT CAST(a AS {AMOUNT_TYPE}), CAST(CAST(a AS {AMOUNT_TYPE}) AS VARCHAR)
            FROM unnest($amounts) AS t(a)""", dict(amounts=AMOUNTS)).fetchall()
    assert len(rows) == len(AMOUNTS)
    for decimal, text in rows:
        assert _money(text).as_tuple() == decimal.as_tuple(), text
    assert _money(None) is None
