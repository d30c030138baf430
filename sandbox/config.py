"""The sandbox's settings, from a JSON profile file and command-line options.

A profile file holds any of these keys (the command line wins over it; players, bugs and outages
from both are combined)::

    {
      "players": ["tok-1:100.00", {"token": "tok-2", "balance": "50", "player_id": "p-2"}],
      "latency_ms": "50-400",            # or 200, "lognormal:120:0.6", {"min":..,"max":..}
      "error_rate": 0.05, "error_statuses": [500, 502, 503],
      "timeout_rate": 0.01, "timeout_s": 30, "timeout_applies": false,
      "unsupported_rate": 0.02, "unsupported_code": "internal_error",
      "outages": ["10/60", "300-330", {"start": "2026-11-23T12:00:00Z", "end": "..."}],
      "outage_mode": "503",              # or "close"
      "base_path": "/api", "bugs": ["slow"], "slow_s": 15, "seed": 7,
      "session_key": "session_id",       # the Foreign-Params key naming a session
      "currency": "EUR"                  # the currency column of the ledger CSV
    }
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path

from contract import payouts
from contract.errors import ConfigurationError
from sandbox import bugs as bug_names
from sandbox.faults import (
    DEFAULT_ERROR_STATUSES,
    DEFAULT_TIMEOUT_S,
    DEFAULT_UNSUPPORTED_CODE,
    FaultProfile,
    parse_latency,
    parse_outage,
)
from sandbox.ledger_csv import DEFAULT_CURRENCY, parse_currency
from sandbox.platform import Platform
from sandbox.state_file import StateFile
from sandbox.validation import DEFAULT_SESSION_KEY

PROFILE_KEYS = frozenset({
    "players", "latency_ms", "error_rate", "error_statuses", "timeout_rate", "timeout_s",
    "timeout_applies", "unsupported_rate", "unsupported_code", "outages", "outage_mode",
    "base_path", "bugs", "slow_s", "seed", "session_key", "currency",
})


@dataclass(frozen=True)
class PlayerSeed:
    """A player to open at start: session token, starting balance, player id (default: token)."""

    token: str
    balance: Decimal
    player_id: str | None = None


@dataclass(frozen=True)
class SandboxConfig:
    """Everything needed to run a sandbox platform."""

    players: tuple[PlayerSeed, ...] = ()
    state_file: Path | None = None
    faults: FaultProfile = field(default_factory=FaultProfile)
    bugs: frozenset[str] = frozenset()
    slow_s: float = bug_names.DEFAULT_SLOW_S
    base_path: str = ""
    seed: int | None = None
    #: The Foreign-Params key whose value names a player's session (the operator's choice).
    session_key: str = DEFAULT_SESSION_KEY
    #: The currency written on every row of the ledger CSV (the wallets hold one currency).
    currency: str = DEFAULT_CURRENCY

    def describe(self) -> dict:
        """The settings for people (the inspection page and ``/_sandbox/state``)."""
        return {"base_path": self.base_path, "bugs": sorted(self.bugs), "slow_s": self.slow_s,
                "session_key": self.session_key, "currency": self.currency,
                "state_file": str(self.state_file) if self.state_file else None,
                "faults": self.faults.describe()}

    def build_platform(self) -> Platform:
        """A platform with this config's bugs, loaded from the state file if there is one, with
        every seed player it does not know yet (a restart keeps the balances it saved)."""
        platform = Platform(bugs=self.bugs,
                            state_file=StateFile(self.state_file) if self.state_file else None,
                            session_key=self.session_key)
        for seed in self.players:
            if not platform.has_token(seed.token):
                platform.add_player(seed.token, seed.balance, player_id=seed.player_id)
        return platform


def parse_player(spec: object, option: str = "--player") -> PlayerSeed:
    """A PlayerSeed from ``"TOKEN:BALANCE"`` or ``{"token", "balance", "player_id"?}``."""
    if isinstance(spec, PlayerSeed):
        return spec
    try:
        if isinstance(spec, dict):
            token, balance, player_id = spec["token"], spec["balance"], spec.get("player_id")
        else:
            token, balance = str(spec).rsplit(":", 1)
            player_id = None
        amount = payouts.to_decimal(balance, "balance")
    except (ValueError, KeyError):
        raise ConfigurationError(f"{option} {spec!r} is not TOKEN:BALANCE (e.g. tok-1:100.00)"
                                 ) from None
    if not token or amount < 0:
        raise ConfigurationError(f"{option} {spec!r}: the token must not be empty and the "
                                 "balance must not be negative")
    return PlayerSeed(token, amount, player_id)


def normalize_base_path(path: object, option: str = "--base-path") -> str:
    """``""`` or ``"/segment[/segment...]"`` without a trailing slash."""
    if not isinstance(path, str):
        raise ConfigurationError(f"{option} {path!r} must be a path such as /api")
    path = path.strip().rstrip("/")
    if path and (not path.startswith("/") or any(c in path for c in " ?#")):
        raise ConfigurationError(f"{option} {path!r} must start with / and hold no spaces, "
                                 "? or #, e.g. /api/callbacks")
    return path


def load_profile(path: str | Path) -> dict:
    """The JSON object of a profile file, with its keys checked."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigurationError(f"--profile {str(path)!r} cannot be read: {exc}") from None
    except ValueError as exc:
        raise ConfigurationError(f"--profile {str(path)!r} is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigurationError(f"--profile {str(path)!r} must hold a JSON object")
    unknown = sorted(set(data) - PROFILE_KEYS)
    if unknown:
        raise ConfigurationError(f"--profile {str(path)!r}: unknown key(s) {', '.join(unknown)};"
                                 f" known keys: {', '.join(sorted(PROFILE_KEYS))}")
    return data


def config_from_settings(settings: dict, source: str = "profile") -> SandboxConfig:
    """A SandboxConfig from profile-style settings; ConfigurationError names the bad one."""
    def number(key: str, default: float, kind=float):
        value = settings.get(key, default)
        try:
            if isinstance(value, bool):
                raise ValueError
            return kind(value)
        except (TypeError, ValueError):
            raise ConfigurationError(f"{source} {key} {value!r} must be a number") from None

    faults = FaultProfile(
        latency=parse_latency(settings.get("latency_ms", 0), f"{source} latency_ms"),
        error_rate=number("error_rate", 0.0),
        error_statuses=tuple(_statuses(settings.get("error_statuses", DEFAULT_ERROR_STATUSES),
                                       f"{source} error_statuses")),
        timeout_rate=number("timeout_rate", 0.0),
        timeout_s=number("timeout_s", DEFAULT_TIMEOUT_S),
        timeout_applies=bool(settings.get("timeout_applies", False)),
        unsupported_rate=number("unsupported_rate", 0.0),
        unsupported_code=str(settings.get("unsupported_code", DEFAULT_UNSUPPORTED_CODE)),
        outages=tuple(parse_outage(o, f"{source} outages") for o in settings.get("outages", ())),
        outage_mode=str(settings.get("outage_mode", "503")),
    )
    try:
        faults.check()
    except ConfigurationError as exc:
        raise ConfigurationError(f"{source}: {exc}") from None
    slow_s = number("slow_s", bug_names.DEFAULT_SLOW_S)
    if slow_s < 0:
        raise ConfigurationError(f"{source} slow_s {slow_s!r} must not be negative")
    seed = settings.get("seed")
    return SandboxConfig(
        players=tuple(parse_player(p, f"{source} players") for p in settings.get("players", ())),
        faults=faults,
        bugs=bug_names.parse_bugs(settings.get("bugs", ()), f"{source} bugs"),
        slow_s=slow_s,
        base_path=normalize_base_path(settings.get("base_path", ""), f"{source} base_path"),
        seed=None if seed is None else int(number("seed", 0, int)),
        session_key=parse_session_key(settings.get("session_key", DEFAULT_SESSION_KEY),
                                      f"{source} session_key"),
        currency=parse_currency(settings.get("currency", DEFAULT_CURRENCY), f"{source} currency"),
    )


def parse_session_key(key: object, option: str = "--session-key") -> str:
    """A Foreign-Params key: a non-blank string such as ``token`` or ``session_id``."""
    if not isinstance(key, str) or not key.strip():
        raise ConfigurationError(f"{option} {key!r} must be a Foreign-Params key such as token "
                                 "or session_id")
    return key


def _statuses(values: object, option: str) -> list[int]:
    if not isinstance(values, (list, tuple)) or any(
            isinstance(v, bool) or not isinstance(v, int) for v in values):
        raise ConfigurationError(f"{option} {values!r} must be a list of HTTP statuses")
    return list(values)


#: Profile keys that a command-line option of the same name (dashes for underscores) replaces.
OPTION_KEYS = ("latency_ms", "error_rate", "timeout_rate", "timeout_s", "unsupported_rate",
               "outage_mode", "base_path", "slow_s", "seed", "session_key", "currency")


def config_from_args(args) -> SandboxConfig:
    """The config of ``callbacks sandbox``: the profile file (if any) overlaid with the options.

    Options are checked one by one as they are parsed (see :mod:`sandbox.cli`); what can only be
    checked together (the shares add up to at most 1) raises ConfigurationError here.
    """
    profile = getattr(args, "profile", None)
    settings = dict(load_profile(profile)) if profile else {}
    for key in OPTION_KEYS:
        value = getattr(args, key, None)
        if value is not None:
            settings[key] = value
    settings["players"] = list(settings.get("players", ())) + list(args.player or ())
    settings["bugs"] = list(settings.get("bugs", ())) + list(args.bug or ())
    settings["outages"] = list(settings.get("outages", ())) + list(args.outage or ())
    if getattr(args, "timeout_applies", False):
        settings["timeout_applies"] = True
    source = f"--profile {str(profile)!r} with the options" if profile else "the options"
    config = config_from_settings(settings, source)
    return replace(config, state_file=Path(args.state_file) if args.state_file else None)
