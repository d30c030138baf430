"""Errors of the integration manager's actions (they derive from the project's one root,
:class:`contract.errors.CallbackDeskError`; bad input is :class:`delivery.errors.InvalidInput`)::

    CallbackDeskError
    └── ActionRefused           an action (retry, recover, cancel, set-url) that cannot be
        │                       done as asked; nothing was changed
        ├── UnknownBet          no bet has this Bet ID
        ├── GroupBusy           a callback of the bet is being sent right now
        ├── IntegrationTestBet  the bet is the Integration Test's, left alone unless asked
        └── WrongState          the callbacks are not in a state the action applies to

The message of each is written for the person who has to act on it.
"""
from __future__ import annotations

from delivery.errors import CallbackDeskError

__all__ = ["ActionRefused", "UnknownBet", "GroupBusy", "IntegrationTestBet", "WrongState"]


class ActionRefused(CallbackDeskError):
    """An integration manager's action cannot be done as asked. Nothing was changed."""


class UnknownBet(ActionRefused):
    """No bet has this Bet ID (in this brand). Check the ID in the Bets list."""


class GroupBusy(ActionRefused):
    """A callback of the bet is being sent right now; acting on the bet could send two of its
    requests at once or break its order. Try again in a few seconds."""


class WrongState(ActionRefused):
    """The callbacks are not in a state the action applies to; the message says what they are
    and what would work."""


class IntegrationTestBet(ActionRefused):
    """The bet is the Integration Test's (callbacks of origin ``integration_test``, such as its
    balance probe): actions leave it alone unless ``--include-integration-test`` asks for it."""
