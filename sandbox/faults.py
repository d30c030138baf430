"""Faults the sandbox injects in front of the platform, and the pure decision of which one hits a
request.

A :class:`FaultProfile` says how often and how; :func:`decide` draws from a ``random.Random`` and
the clock, so a seeded generator gives the same decisions every time. Kinds of fault:

- latency: fixed (``"200"``), uniform (``"50-400"``) or lognormal (``"lognormal:120:0.6"``,
  median ms and sigma), added before every answer;
- a share of 5xx (``error_rate``, status drawn from ``error_statuses``), not applied;
- a share of timeouts (``timeout_rate``): the request hangs ``timeout_s`` seconds and the
  connection is closed without an answer; applied first only when ``timeout_applies``;
- a share of 400s with a code no destination supports (``unsupported_rate``), not applied;
- outage windows: ``"10/60"`` is down for 10 s at the start of every 60 s since the server
  started, ``"60-90"`` is down from 60 s to 90 s after start, and in a profile file
  ``{"start": ISO, "end": ISO}`` is an absolute window. While down, requests get 503
  (``outage_mode`` ``"503"``) or a closed connection (``"close"``).

The shares are drawn from one number, so they must add up to at most 1.
"""
from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import UTC, datetime

import contract
from contract.errors import ConfigurationError

PASS, ERROR, TIMEOUT, UNSUPPORTED, OUTAGE = "pass", "error", "timeout", "unsupported", "outage"
#: What an outage answers: a 503, or a connection closed before the response completes.
OUTAGE_MODES = ("503", "close")
#: 5xx statuses drawn from for the ``error_rate`` share, unless the profile says otherwise.
DEFAULT_ERROR_STATUSES = (500, 502, 503)
#: How long a timed-out request hangs before its connection is closed.
DEFAULT_TIMEOUT_S = 30.0
#: The code of an injected unsupported 400.
DEFAULT_UNSUPPORTED_CODE = "internal_error"


@dataclass(frozen=True)
class Latency:
    """Added delay: ``kind`` none, fixed (``low_ms``), uniform (``low_ms``–``high_ms``) or
    lognormal (median ``low_ms``, shape ``sigma``)."""

    kind: str = "none"
    low_ms: float = 0.0
    high_ms: float = 0.0
    sigma: float = 0.0

    def sample_ms(self, rng: random.Random) -> float:
        """One delay in milliseconds."""
        if self.kind == "fixed":
            return self.low_ms
        if self.kind == "uniform":
            return rng.uniform(self.low_ms, self.high_ms)
        if self.kind == "lognormal":
            return rng.lognormvariate(math.log(self.low_ms), self.sigma)
        return 0.0

    def describe(self) -> str:
        return {"none": "none", "fixed": f"{self.low_ms:g} ms",
                "uniform": f"{self.low_ms:g}–{self.high_ms:g} ms",
                "lognormal": f"lognormal median {self.low_ms:g} ms, sigma {self.sigma:g}",
                }[self.kind]


@dataclass(frozen=True)
class Outage:
    """A window when the platform is down: periodic (``down_s`` at the start of every
    ``every_s``), relative to server start (``from_s``–``to_s``) or absolute (epoch seconds)."""

    every_s: float | None = None
    down_s: float = 0.0
    from_s: float | None = None
    to_s: float | None = None
    start_at_s: float | None = None
    end_at_s: float | None = None

    def is_down(self, now_s: float, started_at_s: float) -> bool:
        """Whether the window covers ``now_s`` for a server started at ``started_at_s``."""
        elapsed_s = now_s - started_at_s
        if self.every_s is not None:
            return elapsed_s % self.every_s < self.down_s
        if self.from_s is not None:
            return self.from_s <= elapsed_s < self.to_s
        if self.start_at_s is not None:
            return self.start_at_s <= now_s < self.end_at_s
        return False

    def describe(self) -> str:
        if self.every_s is not None:
            return f"down {self.down_s:g} s every {self.every_s:g} s"
        if self.from_s is not None:
            return f"down from {self.from_s:g} s to {self.to_s:g} s after start"
        start, end = (datetime.fromtimestamp(t, UTC).isoformat()
                      for t in (self.start_at_s, self.end_at_s))
        return f"down from {start} to {end}"


@dataclass(frozen=True)
class FaultProfile:
    """How the sandbox misbehaves in front of the platform. The default misbehaves not at all."""

    latency: Latency = Latency()
    error_rate: float = 0.0
    error_statuses: tuple[int, ...] = DEFAULT_ERROR_STATUSES
    timeout_rate: float = 0.0
    timeout_s: float = DEFAULT_TIMEOUT_S
    timeout_applies: bool = False
    unsupported_rate: float = 0.0
    unsupported_code: str = DEFAULT_UNSUPPORTED_CODE
    outages: tuple[Outage, ...] = ()
    outage_mode: str = "503"

    def check(self) -> FaultProfile:
        """The profile itself, or ConfigurationError naming the setting that cannot work."""
        for name in ("error_rate", "timeout_rate", "unsupported_rate"):
            value = getattr(self, name)
            if not 0 <= value <= 1:
                raise ConfigurationError(f"{name} {value!r} must be a share between 0 and 1")
        total = self.error_rate + self.timeout_rate + self.unsupported_rate
        if total > 1:
            raise ConfigurationError(f"error_rate + timeout_rate + unsupported_rate is {total:g};"
                                     " the shares must add up to at most 1")
        if not self.error_statuses or any(not 500 <= s <= 599 for s in self.error_statuses):
            raise ConfigurationError(f"error_statuses {list(self.error_statuses)!r} must be "
                                     "5xx statuses")
        if self.timeout_s <= 0:
            raise ConfigurationError(f"timeout_s {self.timeout_s!r} must be above zero")
        supported = {code for d in contract.DESTINATIONS.values() for code in d.supported_codes}
        if self.unsupported_code in supported:
            raise ConfigurationError(f"unsupported_code {self.unsupported_code!r} is a supported "
                                     "code of the contract; pick one no destination supports")
        if self.outage_mode not in OUTAGE_MODES:
            raise ConfigurationError(f"outage_mode {self.outage_mode!r} must be one of "
                                     f"{', '.join(OUTAGE_MODES)}")
        return self

    def describe(self) -> dict:
        """The profile for people (the inspection page and ``/_sandbox/state``)."""
        return {"latency": self.latency.describe(), "error_rate": self.error_rate,
                "error_statuses": list(self.error_statuses), "timeout_rate": self.timeout_rate,
                "timeout_s": self.timeout_s, "timeout_applies": self.timeout_applies,
                "unsupported_rate": self.unsupported_rate,
                "unsupported_code": self.unsupported_code,
                "outages": [o.describe() for o in self.outages], "outage_mode": self.outage_mode}


@dataclass(frozen=True)
class FaultDecision:
    """What happens to one request. ``apply`` says whether the platform sees the callback."""

    action: str = PASS
    latency_ms: float = 0.0
    status: int | None = None
    code: str | None = None
    hang_s: float = 0.0
    close_connection: bool = False
    apply: bool = True


def decide(profile: FaultProfile, rng: random.Random, now_s: float,
           started_at_s: float) -> FaultDecision:
    """The fault (or none) for one request at ``now_s``, drawing from ``rng``.

    An outage wins over everything and adds no latency; otherwise one uniform draw picks 5xx,
    timeout, unsupported 400 or a pass, in that order of the shares.
    """
    if any(outage.is_down(now_s, started_at_s) for outage in profile.outages):
        closing = profile.outage_mode == "close"
        return FaultDecision(OUTAGE, status=None if closing else 503, close_connection=closing,
                             apply=False)
    latency_ms = profile.latency.sample_ms(rng)
    draw = rng.random()
    if draw < profile.error_rate:
        return FaultDecision(ERROR, latency_ms, status=rng.choice(profile.error_statuses),
                             apply=False)
    draw -= profile.error_rate
    if draw < profile.timeout_rate:
        return FaultDecision(TIMEOUT, latency_ms, hang_s=profile.timeout_s,
                             close_connection=True, apply=profile.timeout_applies)
    draw -= profile.timeout_rate
    if draw < profile.unsupported_rate:
        return FaultDecision(UNSUPPORTED, latency_ms, status=400, code=profile.unsupported_code,
                             apply=False)
    return FaultDecision(PASS, latency_ms)


# --- reading settings -----------------------------------------------------------------------

def parse_latency(spec: object, option: str = "--latency-ms") -> Latency:
    """A Latency from ``"200"``, ``"50-400"``, ``"lognormal:120:0.6"``, a number, or a profile
    object (``{"min": 50, "max": 400}``, ``{"median": 120, "sigma": 0.6}``, ``{"fixed": 200}``)."""
    def bad(why: str) -> ConfigurationError:
        return ConfigurationError(f"{option} {spec!r}: {why}; use \"200\", \"50-400\" or "
                                  "\"lognormal:MEDIAN_MS:SIGMA\"")
    if isinstance(spec, Latency):
        return spec
    try:
        if isinstance(spec, bool):
            raise ValueError
        if isinstance(spec, (int, float)):
            latency = Latency("fixed", float(spec))
        elif isinstance(spec, dict):
            if "fixed" in spec:
                latency = Latency("fixed", float(spec["fixed"]))
            elif "median" in spec:
                latency = Latency("lognormal", float(spec["median"]), sigma=float(spec["sigma"]))
            else:
                latency = Latency("uniform", float(spec["min"]), float(spec["max"]))
        elif isinstance(spec, str) and spec.startswith("lognormal:"):
            _, median, sigma = spec.split(":")
            latency = Latency("lognormal", float(median), sigma=float(sigma))
        elif isinstance(spec, str) and "-" in spec.strip().lstrip("-"):
            low, high = spec.split("-")
            latency = Latency("uniform", float(low), float(high))
        elif isinstance(spec, str):
            latency = Latency("fixed", float(spec))
        else:
            raise ValueError
    except (ValueError, KeyError, TypeError):
        raise bad("not a latency") from None
    if latency.low_ms < 0 or latency.high_ms < 0 or not math.isfinite(latency.low_ms):
        raise bad("milliseconds must not be negative")
    if latency.kind == "uniform" and latency.high_ms < latency.low_ms:
        raise bad("the maximum is below the minimum")
    if latency.kind == "lognormal" and (latency.low_ms <= 0 or latency.sigma < 0):
        raise bad("the median must be above zero and sigma at least zero")
    return latency


def parse_outage(spec: object, option: str = "--outage") -> Outage:
    """An Outage from ``"DOWN_S/EVERY_S"``, ``"FROM_S-TO_S"`` (after start), or a profile object
    (``{"every_s", "down_s"}``, ``{"from_s", "to_s"}``, ``{"start", "end"}`` in ISO 8601)."""
    if isinstance(spec, Outage):
        return spec
    try:
        if isinstance(spec, str) and "/" in spec:
            down, every = spec.split("/")
            outage = Outage(every_s=float(every), down_s=float(down))
        elif isinstance(spec, str):
            start, end = spec.split("-")
            outage = Outage(from_s=float(start), to_s=float(end))
        elif isinstance(spec, dict) and "every_s" in spec:
            outage = Outage(every_s=float(spec["every_s"]), down_s=float(spec["down_s"]))
        elif isinstance(spec, dict) and "from_s" in spec:
            outage = Outage(from_s=float(spec["from_s"]), to_s=float(spec["to_s"]))
        elif isinstance(spec, dict):
            outage = Outage(start_at_s=_epoch_s(spec["start"]), end_at_s=_epoch_s(spec["end"]))
        else:
            raise ValueError
    except (ValueError, KeyError, TypeError, AttributeError):
        raise ConfigurationError(
            f"{option} {spec!r} is not an outage; use \"DOWN_S/EVERY_S\" (e.g. \"10/60\") or "
            "\"FROM_S-TO_S\" seconds after start (e.g. \"60-90\")") from None
    periodic_bad = outage.every_s is not None and not 0 < outage.down_s <= outage.every_s
    window_bad = outage.from_s is not None and not 0 <= outage.from_s < outage.to_s
    absolute_bad = outage.start_at_s is not None and not outage.start_at_s < outage.end_at_s
    if periodic_bad or window_bad or absolute_bad:
        raise ConfigurationError(f"{option} {spec!r}: the window is empty or inverted")
    return outage


def _epoch_s(text: str) -> float:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError("a timezone is required")
    return moment.timestamp()

