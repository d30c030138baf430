"""The exception root every Callback Desk package shares, and the contract's own error.

Exception tree (the rest lives in :mod:`delivery.errors`)::

    CallbackDeskError
    ├── ContractViolation       a body or value the contract does not allow; names the field
    │   └── delivery.errors.InvalidInput ...
    └── ConfigurationError      a setting (URL, option) that cannot work as given
"""
from __future__ import annotations


class CallbackDeskError(Exception):
    """Base of every Callback Desk error; its message is written for the person who acts."""


class ContractViolation(CallbackDeskError, ValueError):
    """A value breaks the contract. ``field`` is a dotted path into the body
    (``bet_odds[0].odd_ratio``) and ``value`` what was found there."""

    def __init__(self, message: str, *, field: str | None = None, value: object = None):
        super().__init__(message)
        self.field = field
        self.value = value


class ConfigurationError(CallbackDeskError):
    """A setting cannot work as given; the message says which and what to set instead."""
