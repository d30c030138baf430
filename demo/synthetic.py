"""Realistic synthetic callback history, as COPY-ready text (no database access here).

Bets arrive on a daily rhythm and walk the contract's lifecycles (place → accept → settle, a
few declines, rejections, cash-outs and resettlements). Each callback is delivered in group
order on the brand's retry schedule; brands differ in speed and failure mix, and one has an
outage in the middle of the window. Work that would happen after ``now`` stays queued, so the
Callback sender has something to show. Everything is derived from a seed.
"""
from __future__ import annotations

import json
import math
import random
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

import contract

_HEADER_TAIL = ('"User-Agent": "CallbackDesk/1"}')
_SUPPORTED_PLACE = ("not_enough_balance", "player_limit_crossed", "auth_session_unknown")
_UNSUPPORTED = ("internal_error", "bet_already_settled", "validation_failed", "unknown_bet")
_5XX = (500, 500, 500, 502, 503, 504)
_5XX_BODY = {500: '{"message": "Internal Server Error"}', 502: "upstream connect error",
             503: "Service Unavailable", 504: "gateway timeout"}


@dataclass(frozen=True)
class BrandProfile:
    """How one brand's platform behaves."""

    brand_id: int
    name: str
    latency_ms: float = 80.0          # median request duration
    fail_rate: float = 0.02           # chance an attempt fails (outside the outage)
    unsupported_share: float = 0.1    # of failures, answered with an unsupported 400
    timeout_share: float = 0.15       # of failures, no answer within the timeout
    outage: bool = False              # 5xx storm for two hours in the middle of the window
    stuck_rate: float = 0.004         # callbacks the platform fails every time (handler bug)
    timeout_s: float = contract.DEFAULT_TIMEOUT_S
    schedule_s: tuple[int, ...] = contract.DEFAULT_RETRY_SCHEDULE_S


def default_profiles(brands: list[tuple[int, str]]) -> list[BrandProfile]:
    """Healthy, flaky-with-an-outage and buggy, round-robin over the given brands."""
    shapes = (dict(latency_ms=70, fail_rate=0.015),
              dict(latency_ms=140, fail_rate=0.04, outage=True, timeout_share=0.3),
              dict(latency_ms=95, fail_rate=0.05, unsupported_share=0.45))
    return [BrandProfile(bid, name, **shapes[i % len(shapes)])
            for i, (bid, name) in enumerate(brands)]


@dataclass
class Chunk:
    """COPY text for bets, callbacks and attempts, and how many rows each holds."""

    bets: str
    callbacks: str
    attempts: str
    n_bets: int
    n_callbacks: int
    n_attempts: int


NULL = "\\N"


def _n(value) -> str:
    """A COPY text value: \\N for None."""
    return NULL if value is None else str(value)


class HistoryWriter:
    """Generates bets with their callbacks and attempts, oldest first, in chunks."""

    def __init__(self, profiles: list[BrandProfile], *, start: float, now: float,
                 first_callback_id: int, salt: int, seed: int = 1):
        self.profiles = profiles
        self.start, self.now = start, now
        self.next_callback_id = first_callback_id
        self.salt = salt & 0x3FFFFFFF
        self.seq = 0
        self.rng = random.Random(seed)
        mid = start + (now - start) * 0.6
        self.outage = (mid, mid + 7200)
        self._seconds: dict[int, str] = {}

    # -- ids and times -------------------------------------------------------------------------

    def _uuid(self, at: float) -> str:
        """A time-ordered UUID (version 7 layout): unique per run, cheap to index."""
        self.seq += 1
        ms = int(at * 1000)
        tail = (self.salt << 32) | (self.seq & 0xFFFFFFFF)
        return (f"{ms >> 16:08x}-{ms & 0xFFFF:04x}-7{(tail >> 50) & 0xFFF:03x}-"
                f"{0x8000 | ((tail >> 36) & 0x3FFF):04x}-{tail & 0xFFFFFFFFF:012x}")

    def _ts(self, at: float | None) -> str:
        if at is None:
            return NULL
        second = int(at)
        text = self._seconds.get(second)
        if text is None:
            if len(self._seconds) > 200_000:
                self._seconds.clear()
            text = self._seconds[second] = time.strftime("%Y-%m-%d %H:%M:%S",
                                                         time.gmtime(second))
        return f"{text}.{int((at - second) * 1e6):06d}+00"

    # -- bets --------------------------------------------------------------------------------

    def bet_times(self, count: int) -> list[float]:
        """``count`` creation times over the window, busier in the evening than at night."""
        span = self.now - self.start
        times = []
        rng = self.rng
        while len(times) < count:
            at = self.start + rng.random() * span
            hour = (at % 86400) / 3600
            if rng.random() < 0.55 + 0.45 * math.sin((hour - 9) / 24 * 2 * math.pi):
                times.append(at)
        times.sort()
        return times

    def chunks(self, bet_times: list[float], size: int = 5000) -> Iterator[Chunk]:
        """The history of every bet created at ``bet_times``, ``size`` bets per chunk."""
        for first in range(0, len(bet_times), size):
            bets, callbacks, attempts = [], [], []
            counts = [0, 0, 0]
            for n, at in enumerate(bet_times[first:first + size], start=first):
                c, a = self._bet(n, at, bets, callbacks, attempts)
                counts[0] += 1
                counts[1] += c
                counts[2] += a
            yield Chunk("".join(bets), "".join(callbacks), "".join(attempts), *counts)

    def _bet(self, n: int, created: float, bets: list, callbacks: list,
             attempts: list) -> tuple[int, int]:
        rng = self.rng
        brand = self.profiles[n % len(self.profiles)]
        bet_id = f"bet-{self.salt:08x}-{n:08d}"
        player = f"player-{rng.randrange(40_000):05d}"
        kind = rng.random()
        bet_type = 1 if kind < 0.7 else 2 if kind < 0.9 else 3
        legs = 1 if bet_type == 1 else rng.randint(2, 5) if bet_type == 2 else rng.choice((3, 4))
        sizes = "{}" if bet_type != 3 else ("{2}" if legs == 3 else "{2,3}")
        stake = f"{rng.choice((2, 5, 10, 10, 20, 25, 50, 100)) * (1 + rng.randrange(3)):.2f}"
        odds = ", ".join(
            f'{{"odd_id": "odd-{n}-{i}", "odd_ratio": "{1.2 + rng.random() * 3:.2f}", '
            f'"odd_status": 0, "match_id": "match-{n % 9000}-{i}", "match_status": 0, '
            f'"market_id": "market-{i}"}}' for i in range(legs))
        plan, status = self._lifecycle(created)
        bet_body = (f'"bet_id": "{bet_id}", "bet_player_id": "{player}", "bet_type": {bet_type}, '
                    f'"bet_stake": "{stake}", "bet_odds": [{odds}], "bet_system_sizes": '
                    f'[{sizes[1:-1]}], "bet_created_at": "{self._ts(created)[:19]}Z", '
                    f'"competitors": []')
        # Stored as masked sessions are: a fingerprint (made up here: no real session).
        token = f"***#{zlib.crc32(player.encode()) & 0xffff:04x}"
        restrictions = "[]"
        n_callbacks = n_attempts = 0
        free_at = created  # a callback is sent once the previous one of its group is done
        blocked = False    # an earlier callback is still being retried: later ones wait
        step = 0
        while step < len(plan):
            destination, offset, origin = plan[step]
            step += 1
            cb_created = created + offset
            if cb_created > self.now:
                break
            callback_id = self.next_callback_id
            self.next_callback_id += 1
            request_id = self._uuid(cb_created)
            body = self._payload(destination, request_id, bet_body, bet_id, player, stake)
            if blocked:
                final, tries, next_at, last = "waiting", 0, None, (None, None, None)
            else:
                final, tries, next_at, last = self._deliver(
                    brand, destination, bet_id, callback_id, cb_created, origin,
                    max(cb_created, free_at), token, attempts,
                    reject=destination == contract.PLACE and status == "PLACE_ERROR")
                n_attempts += tries
                free_at = last[1] or free_at
            blocked = blocked or final == "pending"
            if final == "exhausted" and destination == contract.PLACE:
                # The platform never answered the place: the bet is declined, and told so.
                status, restrictions = "DECLINED", self._retry_limit
                plan = plan[:step] + [("/bet/decline", free_at - created + 0.01, "system")]
            done = final in ("delivered", "rejected", "exhausted")
            error = last[2] if final != "delivered" else None
            callbacks.append(
                f"{callback_id}\t{request_id}\t{brand.brand_id}\t{bet_id}\t{destination}\t"
                f"{body}\t{{\"token\": \"{token}\"}}\t{origin}\t{final}\t{tries}\t"
                f"{self._ts(next_at)}\t{_n(last[0])}\t{_n(error)}\t{self._ts(cb_created)}\t"
                f"{self._ts(last[1] if done else None)}\n")
            n_callbacks += 1
            if final == "rejected":
                break
        bets.append(f"{bet_id}\t{brand.brand_id}\t{player}\t{bet_type}\t{stake}\t[{odds}]\t"
                    f"{sizes}\t{status}\t{restrictions}\t{self._ts(created)}\t"
                    f"{self._ts(created)}\t{self._ts(created)}\n")
        return n_callbacks, n_attempts

    _retry_limit = json.dumps([contract.PLACE_RETRY_LIMIT_RESTRICTION])

    def _lifecycle(self, created: float) -> tuple[list[tuple[str, float]], str]:
        """Which callbacks the bet gets, seconds after creation, and the bet's status."""
        rng = self.rng
        r = rng.random()
        place = ("/bet/place", 0.0, "producer")
        accept = ("/bet/accept", 0.5 + rng.random() * 2, "producer")
        settle_at = 1800 + rng.random() * 9000
        if r < 0.04:
            return [place], "PLACE_ERROR"
        if r < 0.10:
            return [place, ("/bet/decline", 1 + rng.random() * 4, "producer")], "DECLINED"
        if r < 0.14:
            return [place, accept, ("/bet/cash-out-orders/accepted",
                                    300 + rng.random() * 3000, "producer")], "CASHED_OUT"
        plan = [place, accept, ("/bet/settle", settle_at, "producer")]
        if r < 0.17:
            plan += [("/bet/unsettle", settle_at + 600 + rng.random() * 3000, "producer"),
                     ("/bet/settle", settle_at + 4000 + rng.random() * 1800, "producer")]
        last = created + plan[-1][1]
        status = "SETTLED" if last <= self.now else "ACCEPTED"
        return plan, status

    def _payload(self, destination: str, request_id: str, bet_body: str, bet_id: str,
                 player: str, stake: str) -> str:
        head = f'{{"request_id": "{request_id}", '
        if destination in ("/bet/place", "/bet/accept"):
            return f"{head}{bet_body}}}"
        if destination == "/bet/decline":
            return (f'{head}"bet_id": "{bet_id}", "bet_player_id": "{player}", "restrictions": '
                    '[{"type": "selection_value", "context": {"max_bet": null, '
                    '"sport_event_id": null, "market_id": "m-1", "odd_id": "o-1", '
                    '"value": "1.85"}}]}')
        if destination == "/bet/settle":
            return (f'{head}"bet_id": "{bet_id}", "bet_player_id": "{player}", "settle_amount": '
                    f'"{float(stake) * 2:.2f}", "settle_type": 1, "restrictions": [], '
                    '"bet_odds": []}')
        if destination == "/bet/unsettle":
            return (f'{head}"bet_id": "{bet_id}", "bet_player_id": "{player}", '
                    f'"unsettle_amount": "{float(stake) * 2:.2f}"}}')
        return (f'{head}"bet_id": "{bet_id}", "cash_out_order_id": "co-{bet_id}", "amount": '
                f'"{stake}", "refund_amount": "{float(stake) * 0.8:.2f}"}}')

    def _deliver(self, brand: BrandProfile, destination: str, bet_id: str, callback_id: int,
                 created: float, origin: str, first_at: float, token: str, out: list, *,
                 reject: bool) -> tuple[str, int, float | None, tuple]:
        """Attempts of one callback until it is delivered, rejected, exhausted or not yet due.

        Returns (state, attempts made, next attempt time, (last status, finish time, detail)).
        """
        rng = self.rng
        at = first_at
        schedule = brand.schedule_s
        last = (None, None, None)
        stuck = self._failure(brand, destination) if rng.random() < brand.stuck_rate else None
        for attempt_no in range(1, len(schedule) + 1):
            if at > self.now:
                return "pending", attempt_no - 1, at, last
            failing = brand.fail_rate
            if brand.outage and self.outage[0] <= at < self.outage[1]:
                failing = 0.7
            if stuck:
                answer = stuck
            elif rng.random() < failing:
                answer = self._failure(brand, destination)
            else:
                answer = self._answer("rejected" if reject else "delivered", brand)
            status, duration_ms, body, error_class, detail, code, outcome = answer
            finished = at + duration_ms / 1000
            next_at = None
            if outcome == "failed":
                if attempt_no == len(schedule):
                    outcome = "exhausted"
                else:
                    next_at = finished + schedule[attempt_no] * (0.8 + rng.random() * 0.4)
            attempt_id = self._uuid(at)
            out.append(
                f"{attempt_id}\t{callback_id}\t{bet_id}\t{brand.brand_id}\t{destination}\t"
                f"{origin}\t{attempt_no}\t{self._ts(created)}\t{self._ts(at)}\t{self._ts(at)}\t"
                f"{self._ts(finished)}\t{duration_ms:.3f}\t"
                f'{{"Content-Type": "application/json", "Foreign-Params": '
                f'"{{\\\\"token\\\\":\\\\"{token}\\\\"}}", "X-Request-ID": "{attempt_id}", '
                f"{_HEADER_TAIL}\t{_n(status)}\t{'{}' if status is not None else NULL}\t"
                f"{body}\tf\t{outcome}\t"
                f"{error_class}\t{detail}\t{code}\t{self._ts(next_at)}\n")
            last = (status, finished, None if detail == NULL else detail)
            if outcome in ("delivered", "rejected", "exhausted"):
                return outcome, attempt_no, None, last
            at = next_at
        return "exhausted", len(schedule), None, last

    def _answer(self, outcome: str, brand: BrandProfile) -> tuple:
        duration = brand.latency_ms * math.exp(self.rng.gauss(0, 0.45))
        if outcome == "rejected":
            code = self.rng.choice(_SUPPORTED_PLACE)
            body = (f'{{"error": {{"code": "{code}", "data": {{"actual_balance": "1.20"}}}}}}'
                    if code == "not_enough_balance" else f'{{"error": {{"code": "{code}"}}}}')
            return (400, duration, body, NULL, f"supported error {code}", code, "rejected")
        return (204, duration, NULL, NULL, NULL, NULL, "delivered")

    def _failure(self, brand: BrandProfile, destination: str) -> tuple:
        rng = self.rng
        r = rng.random()
        if r < brand.timeout_share:
            return (None, brand.timeout_s * 1000 + rng.random() * 30, NULL, "timeout",
                    f"ReadTimeout after {brand.timeout_s:g} s", NULL, "failed")
        if r < brand.timeout_share + brand.unsupported_share:
            code = rng.choice(_UNSUPPORTED)
            return (400, brand.latency_ms * math.exp(rng.gauss(0, 0.3)),
                    f'{{"error": {{"code": "{code}"}}}}', "unsupported_error",
                    f"error code '{code}' is not supported for {destination}", code, "failed")
        if r < brand.timeout_share + brand.unsupported_share + 0.04:
            return (None, 2 + rng.random() * 5, NULL, "connect",
                    "ConnectError: [Errno 111] Connection refused", NULL, "failed")
        status = rng.choice(_5XX)
        return (status, brand.latency_ms * 0.6 * math.exp(rng.gauss(0, 0.5)), _5XX_BODY[status],
                "http_status", f"HTTP {status}", NULL, "failed")
