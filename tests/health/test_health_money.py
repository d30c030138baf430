"""Money at risk arithmetic (pure): per currency, never across currencies."""
from decimal import Decimal

import pytest

from health import money


def test_each_destination_puts_its_own_amount_at_risk():
    assert money.callback_risk("/bet/place", {"bet_stake": "10.00"}, currency="EUR") == \
        money.RiskItem("EUR", money.HELD, Decimal("10.00"))
    assert money.callback_risk("/bet/decline", {}, bet_stake=Decimal("7.5"), currency="EUR") \
        == money.RiskItem("EUR", money.HELD, Decimal("7.5"))
    assert money.callback_risk("/bet/settle", {"settle_amount": "25.00"}) == \
        money.RiskItem("", money.OWED, Decimal("25.00"))
    # A cash-out pays refund_amount; `amount` is the stake being cashed out.
    assert money.callback_risk("/bet/cash-out-orders/accepted",
                               {"amount": "10.00", "refund_amount": "8.00"}).amount == \
        Decimal("8.00")


def test_take_backs_and_exhausted_places_put_nothing_at_risk():
    assert money.callback_risk("/bet/unsettle", {"unsettle_amount": "25.00"}) is None
    assert money.callback_risk("/bet/cash-out-orders/declined", {"cash_out_order_ids": []}) \
        is None
    assert money.callback_risk("/bet/accept", {"bet_stake": "10.00"}) is None
    # The decline queued after an exhausted place carries its stake.
    assert money.callback_risk("/bet/place", {"bet_stake": "10.00"}, exhausted=True) is None
    assert money.callback_risk("/bet/settle", {"settle_amount": "3"}, exhausted=True).exhausted


def test_amounts_add_up_per_currency_and_never_across():
    items = [money.RiskItem("EUR", money.HELD, Decimal("10.00")),
             money.RiskItem("EUR", money.OWED, Decimal("25.50")),
             money.RiskItem("USD", money.OWED, Decimal("99.999")),
             money.RiskItem("EUR", money.OWED, Decimal("4.50"), exhausted=True),
             money.RiskItem("", money.HELD, Decimal("1"))]
    total = money.summarize(items)
    eur, usd, unnamed = (total.by_currency[c] for c in ("EUR", "USD", ""))
    assert (eur.held, eur.owed, eur.exhausted, eur.total) == (
        Decimal("10.00"), Decimal("30.00"), Decimal("4.50"), Decimal("40.00"))
    assert (usd.total, usd.callbacks) == (Decimal("99.999"), 1)
    assert unnamed.total == Decimal(1)
    assert (usd.total, usd.callbacks) == (Decimal("99.999"), 1)  # added exactly, shown rounded
    assert total.label() == "USD 100.00 · EUR 40.00 · 1.00 (no currency)"
    assert total.largest().currency == "USD"


def test_unreadable_amounts_are_counted_but_not_added():
    total = money.summarize([money.callback_risk("/bet/settle", {"settle_amount": "n/a"},
                                                 currency="EUR"),
                             money.callback_risk("/bet/settle", {"settle_amount": "2.00"},
                                                 currency="EUR")])
    eur = total.by_currency["EUR"]
    assert (eur.callbacks, eur.unreadable, eur.owed) == (2, 1, Decimal("2.00"))


def test_rows_of_the_query_make_the_same_totals():
    rows = [{"currency": "EUR", "kind": "held", "exhausted": False, "callbacks": 2,
             "unreadable": 0, "amount": "20.00"},
            {"currency": "EUR", "kind": "owed", "exhausted": True, "callbacks": 3,
             "unreadable": 1, "amount": "7.25"},
            {"currency": "GBP", "kind": "owed", "exhausted": False, "callbacks": 1,
             "unreadable": 0, "amount": "1000"}]
    total = money.from_rows(rows)
    assert total.by_currency["EUR"].total == Decimal("27.25")
    assert total.by_currency["EUR"].exhausted == Decimal("7.25")
    assert total.by_currency["EUR"].unreadable == 1
    assert total.label() == "GBP 1,000.00 · EUR 27.25"
    assert money.from_rows([]).label() == "none"


@pytest.mark.parametrize("given, expected", [
    (("eur", None, "USD"), "EUR"), ((None, " ", "usd"), "USD"), ((None, None, None), ""),
    (("<b>x</b>",), "BXB")])
def test_currency_is_the_first_one_named(given, expected):
    assert money.currency_of(*given) == expected


def test_money_is_written_with_its_currency():
    assert money.format_money(Decimal("1234567.5"), "EUR") == "EUR 1,234,567.50"
    assert money.format_money(Decimal("0"), "") == "0.00 (no currency)"


@pytest.mark.parametrize("amount, currency, shown", [
    ("5.501", "EUR", "5.50"), ("1234567.5", "EUR", "1,234,567.50"),
    ("2.125", "EUR", "2.12"), ("2.135", "EUR", "2.14"),  # half to even
    ("1234.5", "JPY", "1,234"), ("1235.5", "JPY", "1,236"), ("950", "KRW", "950"),
    ("1.2345", "KWD", "1.234"), ("1.2355", "BHD", "1.236"), ("3", "OMR", "3.000"),
    ("0.5", "TND", "0.500"), ("7.0005", "JOD", "7.000"),
    ("5.501", "", "5.50"), ("5.501", None, "5.50"), ("5.5", "XYZ", "5.50"),
    ("5.501", "jpy", "6"), ("-0.004", "EUR", "0.00"),
])
def test_money_is_shown_in_the_currencys_minor_units(amount, currency, shown):
    assert money.shown_amount(Decimal(amount), currency) == shown


def test_minor_units_round_only_the_text():
    amount = Decimal("5.501")
    assert money.format_money(amount, "EUR") == "EUR 5.50"
    assert money.format_money(Decimal("1234.5"), "JPY") == "JPY 1,234"
    assert money.plain_amount(amount) == "5.501" and amount == Decimal("5.501")
    assert (money.minor_units("JPY"), money.minor_units("KWD"), money.minor_units("EUR"),
            money.minor_units("")) == (0, 3, 2, 2)


def test_risk_sources_come_from_the_contract():
    import contract
    for source in money.RISK_SOURCES:
        found = contract.destination(source.destination)
        assert source.amount_field == money.BET_STAKE or \
            source.amount_field in found.money_fields
