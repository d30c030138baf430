"""The platform's journal of balance movements as the ledger CSV that ``callbacks reconcile``
reads: one row per movement, oldest first, built in chunks so a journal of a million rows streams
in bounded memory.

Columns: ``bet_id,amount,request_id,player_id,at,currency,destination``; ``amount`` is the signed
change to the player's ``available`` as :func:`contract.payouts.format_amount` writes it (two
decimals at least, every digit kept: ``-10.00``, ``78.125``).
"""
from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator

from contract.errors import ConfigurationError
from contract.payouts import format_amount
from sandbox.ledger import Movement

#: The header row, in order.
COLUMNS = ("bet_id", "amount", "request_id", "player_id", "at", "currency", "destination")
#: The currency of every row unless the sandbox is told otherwise.
DEFAULT_CURRENCY = "EUR"
#: Rows formatted into one chunk of the answer.
CHUNK_ROWS = 2000
#: The file name offered to the browser.
FILENAME = "sandbox-ledger.csv"

_CURRENCY = re.compile(r"[A-Z0-9]{2,10}")


def parse_currency(code: object, option: str = "--currency") -> str:
    """A currency code for the ledger: 2–10 upper-case letters or digits, such as EUR or USDT."""
    if not isinstance(code, str) or not _CURRENCY.fullmatch(code):
        raise ConfigurationError(f"{option} {code!r} must be a currency code of 2 to 10 upper-case "
                                 "letters or digits, such as EUR or USDT")
    return code


def csv_chunks(movements: Iterable[Movement], currency: str,
               chunk_rows: int = CHUNK_ROWS) -> Iterator[str]:
    """The CSV text — the header, then one row per movement — in chunks of ``chunk_rows`` rows."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    rows = 0
    for movement in movements:
        writer.writerow((movement.bet_id, format_amount(movement.amount), movement.request_id,
                         movement.player_id, movement.at, currency, movement.destination))
        rows += 1
        if rows % chunk_rows == 0:
            yield _drain(buffer)
    yield _drain(buffer)


def _drain(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text
