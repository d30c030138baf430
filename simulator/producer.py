"""Plays the sportsbook: opens players on sandbox platforms, creates bets at a steady rate and
walks each through its plan, queuing every callback through the delivery API.

It reacts to outcomes like a sportsbook: nothing follows a place until the place is delivered,
and a place error ends the bet. Its ledger holds the money each player should have once every
callback is applied, so a run can be checked against the platforms' wallets.

Each player has a player session at Callback Desk (:mod:`delivery.sessions`), so its heartbeats
go to the platform: opened before the player's first bet with the Foreign-Params the bets carry,
closed when the player leaves, left to expire by a few (:func:`simulator.lifecycles.plan_session`).
A player who left or whose session lapsed bets no more; the bets already made go on. Besides,
each brand has :data:`LOGGED_OUT_PER_BRAND` session(s) of a player the platform logged out
already (its token is unknown to the sandbox): the first heartbeat is answered
``auth_session_unknown`` and the session is ``ended_by_platform``.
"""
from __future__ import annotations

import random
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from urllib.parse import urlsplit

import sqlalchemy as sa

from delivery import brands as delivery_brands
from delivery import lifecycle, sessions, store
from delivery.validation import parse_callback
from sandbox.client import SandboxClient

from .lifecycles import (
    BetPlan,
    Move,
    SessionHabits,
    SessionPlan,
    needs_refresh,
    plan_bet,
    plan_session,
    session_over,
)

#: Starting balance of most simulated players.
RICH_BALANCE = Decimal("1000.00")
#: Starting balance of the few players who soon run short (their bets end in place errors).
POOR_BALANCE = Decimal("15.00")
#: Share of players who start poor.
POOR_SHARE = 0.15
#: Sessions per brand of a player the platform no longer knows (they end by the platform).
LOGGED_OUT_PER_BRAND = 1


@dataclass
class Player:
    brand: str
    token: str
    available: Decimal
    held: Decimal = Decimal(0)
    #: The player's session once opened (its id is the token), when, and last refreshed.
    session: SessionPlan | None = None
    opened_s: float = 0.0
    refreshed_s: float = 0.0
    #: Left, or the session lapsed: no more bets.
    gone: bool = False

    def apply(self, move: Move) -> None:
        self.available += move.available
        self.held += move.held


@dataclass
class ActiveBet:
    plan: BetPlan
    player: Player
    brand: str
    next_step: int = 0
    due_at: float = 0.0
    awaiting_place: bool = False


@dataclass
class Counters:
    bets: int = 0
    callbacks: int = 0
    place_errors: int = 0
    finished: int = 0
    by_lifecycle: dict = field(default_factory=dict)
    sessions_opened: int = 0
    sessions_closed: int = 0
    sessions_lapsed: int = 0
    #: Sessions opened for players the platform had logged out already.
    sessions_logged_out: int = 0

    @property
    def sessions_live(self) -> int:
        """Sessions the simulator keeps alive now (logged-out ones not counted)."""
        return self.sessions_opened - self.sessions_closed - self.sessions_lapsed


def sandbox_root(base_url: str) -> str:
    """The sandbox's admin root (scheme, host and port of the brand's base URL)."""
    parts = urlsplit(base_url)
    return f"{parts.scheme}://{parts.netloc}"


#: How players open, keep and close sessions unless a run says otherwise.
USUAL_HABITS = SessionHabits()


class Simulator:
    def __init__(self, engine: sa.Engine, brands: list[delivery_brands.Brand], *, rate_per_s: float,
                 players_per_brand: int = 20, pace: float = 1.0, seed: int | None = None,
                 habits: SessionHabits = USUAL_HABITS,
                 logged_out_per_brand: int = LOGGED_OUT_PER_BRAND):
        self.engine = engine
        self.brands = brands
        self.rate_per_s = rate_per_s
        self.pace = pace
        self.rng = random.Random(seed)
        self.run_id = uuid.uuid4().hex[:8]
        self.players: dict[str, list[Player]] = {}
        self.active: list[ActiveBet] = []
        self.counters = Counters()
        self.players_per_brand = players_per_brand
        self.habits = habits
        self.logged_out_per_brand = logged_out_per_brand
        self._clients = {b.name: SandboxClient(b.base_url, root_url=sandbox_root(b.base_url))
                         for b in brands}

    def open_players(self) -> None:
        """Open this run's players on every brand's sandbox, and each brand's sessions of
        players the platform logged out (at Callback Desk only)."""
        for brand in self.brands:
            players = []
            for n in range(self.players_per_brand):
                start = POOR_BALANCE if self.rng.random() < POOR_SHARE else RICH_BALANCE
                token = f"sim-{self.run_id}-{brand.name}-{n}"
                self._clients[brand.name].add_player(token, start)
                players.append(Player(brand.name, token, start))
            self.players[brand.name] = players
            for n in range(self.logged_out_per_brand):
                token = f"sim-{self.run_id}-{brand.name}-logged-out-{n}"
                sessions.open(self.engine, brand.name, token, {"token": token},
                              ttl_s=self.habits.ttl_s)
                self.counters.sessions_logged_out += 1

    def _keep_session(self, player: Player, now: float) -> None:
        """Open the player's session before its first bet; refresh it now and then."""
        if player.session is None:
            player.session = plan_session(self.rng, self.habits)
            player.opened_s = player.refreshed_s = now
            self.counters.sessions_opened += 1
        elif needs_refresh(player.session, player.refreshed_s, now):
            player.refreshed_s = now
        else:
            return
        sessions.open(self.engine, player.brand, player.token, {"token": player.token},
                      ttl_s=player.session.ttl_s)

    def end_sessions(self, now: float) -> None:
        """Close the sessions of players who leave now; forget players whose session lapsed
        (the heartbeat engine expires it)."""
        for players in self.players.values():
            for player in players:
                if player.session is None or player.gone:
                    continue
                over = session_over(player.session, player.opened_s, now)
                if over == "leaves":
                    sessions.close(self.engine, player.brand, player.token)
                    self.counters.sessions_closed += 1
                elif over == "lapsed":
                    self.counters.sessions_lapsed += 1
                if over:
                    player.gone = True

    def start_bet(self, now: float) -> None:
        present = {b.name: [p for p in self.players[b.name] if not p.gone]
                   for b in self.brands}
        brands = [b.name for b in self.brands if present[b.name]]
        if not brands:
            return
        brand = self.rng.choice(brands)
        player = self.rng.choice(present[brand])
        self._keep_session(player, now)
        bet_id = f"sim-{self.run_id}-{self.counters.bets:06d}"
        created = datetime.now(UTC).isoformat().replace("+00:00", "Z")
        plan = plan_bet(self.rng, bet_id, player.token, created)
        self.counters.bets += 1
        self.counters.by_lifecycle[plan.lifecycle] = (
            self.counters.by_lifecycle.get(plan.lifecycle, 0) + 1)
        self.active.append(ActiveBet(plan, player, brand, due_at=now))

    def _queue_step(self, bet: ActiveBet, now: float) -> None:
        step = bet.plan.steps[bet.next_step]
        item = {"bet_id": bet.plan.bet_id, "destination": step.destination,
                "payload": step.payload, "foreign_params": {"token": bet.player.token}}
        store.enqueue(self.engine, bet.brand, [parse_callback(item)])
        self.counters.callbacks += 1
        if step.destination == "/bet/place":
            bet.awaiting_place = True
        else:
            bet.player.apply(step.move)
        bet.next_step += 1
        if bet.next_step < len(bet.plan.steps):
            bet.due_at = now + bet.plan.steps[bet.next_step].delay_s * self.pace

    def advance(self, now: float) -> None:
        """Queue every step that is due; settle places whose outcome is known."""
        waiting = [b.plan.bet_id for b in self.active if b.awaiting_place]
        statuses = store.bet_statuses(self.engine, waiting) if waiting else {}
        still_active = []
        for bet in self.active:
            if bet.awaiting_place:
                status = statuses.get(bet.plan.bet_id, lifecycle.NEW)
                if status == lifecycle.NEW:
                    still_active.append(bet)
                    continue
                bet.awaiting_place = False
                if status != lifecycle.PLACED:  # place error, or never answered
                    self.counters.place_errors += 1
                    self.counters.finished += 1
                    continue
                bet.player.apply(bet.plan.steps[0].move)
                bet.due_at = max(bet.due_at, now)
            if bet.next_step >= len(bet.plan.steps):
                self.counters.finished += 1
                continue
            if bet.due_at <= now:
                self._queue_step(bet, now)
            still_active.append(bet)
        self.active = still_active

    def run(self, duration_s: float, *, drain_timeout_s: float = 120.0,
            progress=None) -> Counters:
        """Create bets for ``duration_s`` (0: until interrupted), then finish the open ones."""
        started = time.monotonic()
        owed = 0.0
        last = started
        while True:
            now = time.monotonic()
            creating = duration_s == 0 or now - started < duration_s
            if creating:
                owed += (now - last) * self.rate_per_s
                while owed >= 1:
                    self.start_bet(now)
                    owed -= 1
            elif not self.active or now - started > duration_s + drain_timeout_s:
                break
            last = now
            self.end_sessions(now)
            self.advance(now)
            if progress:
                progress(self, now - started)
            time.sleep(0.05)
        return self.counters

    def expected_balances(self) -> dict[tuple[str, str], tuple[Decimal, Decimal]]:
        """``{(brand, token): (available, held)}`` once every queued callback is applied."""
        return {(p.brand, p.token): (p.available, p.held)
                for players in self.players.values() for p in players}

    def platform_balances(self) -> dict[tuple[str, str], tuple[Decimal, Decimal]]:
        """The same, as the sandboxes report it now."""
        return {(p.brand, p.token): self._clients[p.brand].balance(p.token)
                for players in self.players.values() for p in players}

    def close(self) -> None:
        for client in self._clients.values():
            client.close()
