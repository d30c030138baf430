"""Every error Callback Desk raises on purpose derives from :class:`CallbackDeskError`.

Exception tree (the root and the contract's errors live in :mod:`contract.errors`)::

    CallbackDeskError
    ├── ContractViolation       a value the contract does not allow (contract, sandbox)
    │   └── InvalidInput        bad producer input; names the field, the value and the line
    │       ├── UnknownBrand
    │       ├── BrandExists     `brand add` of a name taken; set-url / set change a brand
    │       ├── UnknownDestination
    │       ├── RequestIdConflict   a request_id queued already with another body
    │       └── api.batch.BadBatch  an HTTP producer request that cannot be read (api/)
    ├── ConfigurationError      a setting (URL, option) that cannot work as given
    ├── DatabaseNotReady        the schema is missing or older than this code
    │   └── MigrationChanged    an applied migration's file was edited (or removed) since
    ├── ActorRefused            --as NAME from a shell that may not name someone else
    └── actions.errors.ActionRefused    an integration manager's action that cannot be done
                                as asked (actions/)

The message of each is written for the person who has to act on it.
"""
from __future__ import annotations

from contract.errors import CallbackDeskError, ConfigurationError, ContractViolation

__all__ = ["CallbackDeskError", "ConfigurationError", "ContractViolation", "InvalidInput",
           "UnknownBrand", "UnknownDestination", "DatabaseNotReady", "MigrationChanged",
           "RequestIdConflict", "ActorRefused", "BrandExists"]


class InvalidInput(ContractViolation):
    """A callback, brand or option does not satisfy the contract. Nothing was written.

    ``field`` is a dotted path into the input (``payload.bet_odds[0].odd_ratio``); ``line`` is the
    1-based line of a JSON Lines file when the input came from one.
    """

    def __init__(self, message: str, *, field: str | None = None, value: object = None,
                 line: int | None = None):
        super().__init__(message, field=field, value=value)
        self.line = line

    def at_line(self, line: int) -> InvalidInput:
        """The same error, located at a line of a JSON Lines file."""
        err = type(self).__new__(type(self))
        InvalidInput.__init__(err, f"line {line}: {self}", field=self.field, value=self.value,
                              line=line)
        return err


class UnknownBrand(InvalidInput):
    """No brand has this name. Add it with ``callbacks brand add NAME --url BASE_URL``."""


class BrandExists(InvalidInput):
    """A brand of this name exists already; ``callbacks brand set-url`` re-routes it and
    ``callbacks brand set`` changes its other settings. Nothing was changed."""


class UnknownDestination(InvalidInput):
    """The destination is not part of the callback contract."""


class DatabaseNotReady(CallbackDeskError):
    """The database has no Callback Desk schema yet. Run ``callbacks db upgrade``."""


class MigrationChanged(DatabaseNotReady):
    """A migration applied to this database differs from its file now, or its file is gone: the
    database's schema is not what the migrations say. Restore the file as it landed and put the
    change in a new migration. Nothing was applied."""


class RequestIdConflict(InvalidInput):
    """A ``request_id`` is queued already with another brand, bet, destination, payload or
    Foreign-Params. Repeat the original callback exactly, or give the new one its own
    ``request_id``.

    ``conflicts`` is ``[(request_id, ["payload", ...]), ...]``: which fields differ, never their
    values (Foreign-Params are session secrets).
    """

    def __init__(self, conflicts: list[tuple[str, list[str]]]):
        self.conflicts = conflicts
        first, fields = conflicts[0]
        more = f" (and {len(conflicts) - 1} more)" if len(conflicts) > 1 else ""
        super().__init__(
            f"request_id {first!r} is queued already with a different {', '.join(fields)}"
            f"{more}; repeat the original callback exactly, or give a new callback a new "
            "request_id", field="payload.request_id", value=first)


class ActorRefused(CallbackDeskError):
    """``--as NAME`` is not accepted: only an administrator's shell (root, or an OS user listed
    in ``CALLBACKS_ADMINS``) may name someone else, and only a back-office user. Nothing was
    changed."""
