"""Every error Callback Desk raises on purpose derives from :class:`CallbackDeskError`.

Exception tree::

    CallbackDeskError
    ├── InvalidInput            bad producer input; names the field and the value
    │   ├── UnknownBrand
    │   └── UnknownDestination
    ├── ConfigurationError      a setting (URL, option) that cannot work as given
    └── DatabaseNotReady        the schema is missing or older than this code

The message of each is written for the person who has to act on it.
"""
from __future__ import annotations


class CallbackDeskError(Exception):
    """Base of every Callback Desk error."""


class InvalidInput(CallbackDeskError):
    """A callback, brand or option does not satisfy the contract. Nothing was written.

    ``field`` is a dotted path into the input (``payload.bet_odds[0].odd_ratio``); ``line`` is the
    1-based line of a JSON Lines file when the input came from one.
    """

    def __init__(self, message: str, *, field: str | None = None, value: object = None,
                 line: int | None = None):
        self.field = field
        self.value = value
        self.line = line
        super().__init__(message)

    def at_line(self, line: int) -> "InvalidInput":
        """The same error, located at a line of a JSON Lines file."""
        err = type(self).__new__(type(self))
        InvalidInput.__init__(err, f"line {line}: {self}", field=self.field, value=self.value,
                              line=line)
        return err


class UnknownBrand(InvalidInput):
    """No brand has this name. Add it with ``callbacks brand add NAME --url BASE_URL``."""


class UnknownDestination(InvalidInput):
    """The destination is not part of the callback contract."""


class ConfigurationError(CallbackDeskError):
    """A setting cannot work as given; the message says which and what to set instead."""


class DatabaseNotReady(CallbackDeskError):
    """The database has no Callback Desk schema yet. Run ``callbacks db upgrade``."""
