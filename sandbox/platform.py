"""The operator platform's money model, without HTTP: one method call per callback, one answer.

Per player, ``available`` and ``held`` (SPEC §3):

- place: available −= stake, held += stake (400 ``not_enough_balance`` with ``actual_balance``
  when the stake is above available; 400 ``auth_session_unknown`` for an unknown token;
  ``auth_credentials_expired`` for a player marked expired).
- accept: nothing moves.
- decline: the hold is released (400 ``bet_not_found`` when nothing is held for the bet).
- settle: held −= stake, available += ``settle_amount``, whatever ``settle_type`` says.
- unsettle: available −= ``unsettle_amount`` (may go below zero), held += stake.
- cash-out accepted: held −= stake, available += ``refund_amount``; declined: the reverse.
- the settle that follows an accepted cash-out (type 3, amount 0): 204, nothing moves.
- unsettle of a cashed-out bet: the stake is held again and the cash-out payout taken back.
- heartbeat: 204 for a live session, 400 ``auth_session_unknown`` otherwise.

The player is found by the session in ``Foreign-Params`` on a place and a heartbeat — under the
key ``session_key`` (default ``token``; the operator chooses it, e.g. ``session_id``) — and by
``bet_id`` on every later callback (a session may expire before a bet settles);
``bet_player_id`` is not needed. Bodies are read tolerantly (:mod:`sandbox.validation`): only
the ids and what moves money are required. A repeated ``request_id`` gets the stored first
answer and changes nothing. A callback that does not fit the bet's state (a settle for an unknown
or already settled bet, say) gets a 400 with a code the destination does not support, so the
sender shows it as a platform-side failure. Bodies that break the contract get 400 ``bad_request``.

Every change an applied callback makes to a player's ``available`` is journaled as one
:class:`~sandbox.ledger.Movement` (the signed difference, measured around the change): place
−stake, decline +the released hold, settle +the credit, unsettle −``unsettle_amount``, cash-out
accepted +``refund_amount``, declined −the refund, unsettle of a cashed-out bet −the refund. A
callback that moves nothing (accept, a refusal, a replayed answer) journals nothing; a bug switch
journals what it really moved (``non_idempotent`` journals a repeated ``request_id`` twice).
:meth:`Platform.journal` reads it for the ledger CSV (:mod:`sandbox.ledger_csv`).

Bug switches (:mod:`sandbox.bugs`) bend these rules on purpose. Every public method is
thread-safe; with a :class:`~sandbox.state_file.StateFile` the ledger is saved after each change.
"""
from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from decimal import Decimal

import contract
from contract import payouts
from contract.errors import ContractViolation
from sandbox import bugs as bug_names
from sandbox.ledger import (
    ACCEPTED,
    ANNULLED,
    CASHED_OUT,
    DECLINED,
    NO_CONTENT,
    OPEN,
    SETTLED,
    Answer,
    Bet,
    CashOut,
    Ledger,
    Movement,
    Player,
)
from sandbox.settling import bet_shape_problem, settle_credit
from sandbox.state_file import StateFile
from sandbox.validation import (
    DEFAULT_SESSION_KEY,
    INVALID_BODY_CODE,
    BodyError,
    check_body,
    money,
    problem_data,
    session_id,
)

#: How many recent requests the inspection page keeps.
RECENT_LIMIT = 200


#: The method that applies each destination to a known bet (place and decline are special).
_BET_HANDLERS = {
    "/bet/accept": "_accept",
    "/bet/settle": "_settle",
    "/bet/unsettle": "_unsettle",
    "/bet/cash-out-orders/accepted": "_cash_out",
    "/bet/cash-out-orders/declined": "_cash_out_declined",
}
_UNHANDLED = set(contract.DESTINATIONS) ^ (set(_BET_HANDLERS) | {
    contract.PLACE, contract.DECLINE, contract.HEARTBEAT})
if _UNHANDLED:  # the contract changed: the sandbox must learn what the new destination means
    raise ImportError(f"sandbox.platform does not match the contract: {sorted(_UNHANDLED)}")


class PlayerExists(ContractViolation):
    """A player with this session token or player id exists already; pick another token."""


class Platform:
    """A reference operator platform: wallets, bets and answers, guarded by one lock."""

    def __init__(self, *, bugs: frozenset[str] | set[str] = frozenset(),
                 state_file: StateFile | None = None, clock: Callable[[], float] = time.time,
                 session_key: str = DEFAULT_SESSION_KEY):
        self.bugs = bug_names.parse_bugs(bugs)
        self.session_key = session_key
        self.state_file = state_file
        self._clock = clock
        self._lock = threading.RLock()
        self._ledger = (state_file.load() if state_file else None) or Ledger()
        self._recent: deque[dict] = deque(maxlen=RECENT_LIMIT)

    # --- players ----------------------------------------------------------------------------

    def add_player(self, token: str, balance: Decimal | str, *, player_id: str | None = None,
                   expired: bool = False) -> dict:
        """Open a session ``token`` for a new player (id = ``player_id`` or the token) with
        ``balance`` available. ContractViolation when the token or player id is taken."""
        if not isinstance(token, str) or not token:
            raise ContractViolation(f"token must be a non-empty string, got {token!r}",
                               field="token", value=token)
        amount = payouts.to_decimal(balance, "balance")
        if amount < 0:
            raise ContractViolation(f"balance must not be negative, got {balance!r}",
                               field="balance", value=balance)
        player_id = player_id or token
        with self._lock:
            if token in self._ledger.sessions or player_id in self._ledger.players:
                raise PlayerExists(f"a player with token {token!r} or id {player_id!r} exists "
                                   "already; pick another token", field="token", value=token)
            player = Player(player_id, token, amount, expired=bool(expired))
            self._ledger.players[player_id] = player
            self._ledger.sessions[token] = player_id
            self._save()
            return player.view()

    def has_token(self, token: str) -> bool:
        """Whether ``token`` is a known session."""
        with self._lock:
            return token in self._ledger.sessions

    def player(self, token: str) -> dict | None:
        """The player of session ``token`` (money as decimal strings), or None."""
        with self._lock:
            player_id = self._ledger.sessions.get(token)
            return self._ledger.players[player_id].view() if player_id else None

    def balance(self, token: str) -> tuple[Decimal, Decimal]:
        """``(available, held)`` of the player of session ``token``; KeyError when unknown."""
        with self._lock:
            player = self._ledger.players[self._ledger.sessions[token]]
            return player.available, player.held

    def players(self) -> list[dict]:
        """Every player, as :meth:`player` shows them."""
        with self._lock:
            return [p.view() for p in self._ledger.players.values()]

    def bet(self, bet_id: str) -> dict | None:
        """What the platform knows of a bet, or None."""
        with self._lock:
            found = self._ledger.bets.get(bet_id)
            return found.view() if found else None

    def recent(self) -> list[dict]:
        """The latest requests, newest first."""
        with self._lock:
            return list(reversed(self._recent))

    def state(self, bets_limit: int = 100) -> dict:
        """Players, the latest bets and requests, and the bug switches, for people and tests."""
        with self._lock:
            bets = list(self._ledger.bets.values())[-bets_limit:]
            return {"players": self.players(), "bets_count": len(self._ledger.bets),
                    "bets": [b.view() for b in reversed(bets)],
                    "answers_count": len(self._ledger.answers),
                    "movements_count": len(self._ledger.movements),
                    "recent": self.recent(), "bugs": sorted(self.bugs)}

    def movements(self, player_id: str | None = None) -> list[dict]:
        """The journal of balance movements, oldest first (amounts as decimal strings), of every
        player or of ``player_id``."""
        return [m.view() for m in self.journal(player_id)]

    def journal(self, player_id: str | None = None) -> Iterator[Movement]:
        """The journal's movements, oldest first, of every player or of ``player_id``.

        Only the list and its length are taken under the lock: the journal is append-only and its
        movements immutable, so the rows are read afterwards without holding up callbacks (a
        journal of a million rows streams while the platform keeps answering).
        """
        with self._lock:
            movements, count = self._ledger.movements, len(self._ledger.movements)
        return _movements_of(movements, count, player_id)

    # --- callbacks --------------------------------------------------------------------------

    def handle(self, destination: str, body: bytes | str | dict,
               foreign_params: str | None = None) -> Answer:
        """Apply one callback and return the answer to send back."""
        found = contract.destination(destination)
        if found is None:
            return Answer(404, self._error("unknown_destination", {"destination": destination}))
        if not found.with_ids:
            return self._heartbeat(foreign_params)
        if isinstance(body, (bytes, str)):
            try:
                body = json.loads(body)
            except (ValueError, RecursionError) as exc:
                return self._reject({"field": "body", "problem": f"is not JSON ({exc})"},
                                    destination)
        problem = check_body(found, body)
        if problem:
            return self._reject(problem_data(problem), destination, body)
        with self._lock:
            request_id = body["request_id"]
            first = self._ledger.answers.get(request_id)
            if first is not None and bug_names.NON_IDEMPOTENT not in self.bugs:
                self._note(destination, body, first, "replay of the first answer")
                return first
            wallet = self._wallet(destination, body, foreign_params)
            before = wallet.available if wallet else None
            try:
                answer = self._apply(destination, body, foreign_params, lax=first is not None)
            except BodyError as bad:
                # Every handler reads its body before it moves money: nothing to journal.
                self._note(destination, body, Answer(400), str(bad))
                return Answer(400, self._error(INVALID_BODY_CODE, problem_data(bad.problem)))
            if wallet is not None and wallet.available != before:
                self._ledger.movements.append(Movement(
                    self._now(), str(body["bet_id"]), wallet.player_id, str(request_id),
                    wallet.available - before, destination))
            self._ledger.answers.setdefault(request_id, answer)
            self._note(destination, body, answer, "applied again" if first else "")
            self._save()
            return answer

    def note(self, destination: str, body: bytes | str | dict, status: int | None,
             what: str) -> None:
        """Record a request the platform did not handle itself (a fault) for the inspection page."""
        if isinstance(body, (bytes, str)):
            try:
                body = json.loads(body)
            except ValueError:
                body = {}
        with self._lock:
            self._note(destination, body, Answer(status or 0), what)

    def _heartbeat(self, foreign_params: str | None) -> Answer:
        """A session is live when it is known and not expired; the body is not read (it is
        empty), and nothing is stored: a heartbeat has no request_id to replay."""
        try:
            session = session_id(foreign_params, self.session_key)
        except BodyError:
            session = None
        with self._lock:
            player_id = self._ledger.sessions.get(session) if session else None
            live = player_id is not None and not self._ledger.players[player_id].expired
            answer = NO_CONTENT if live else self._fail("auth_session_unknown")
            self._note(contract.HEARTBEAT, {}, answer, "" if live else "session not live")
        return answer

    def _wallet(self, destination: str, body: dict, foreign_params: str | None) -> Player | None:
        """The player whose ``available`` the callback may move: the session's on a place, the
        bet's on every other destination; None when there is none (the callback is refused)."""
        if destination == contract.PLACE:
            try:
                token = session_id(foreign_params, self.session_key)
            except BodyError:
                return None
            player_id = self._ledger.sessions.get(token) if token else None
        else:
            bet = self._ledger.bets.get(str(body["bet_id"]))
            player_id = bet.player_id if bet else None
        return self._ledger.players.get(player_id) if player_id else None

    def _apply(self, destination: str, body: dict, foreign_params: str | None,
               lax: bool) -> Answer:
        if destination == contract.PLACE:
            return self._place(body, foreign_params, lax)
        bet = self._ledger.bets.get(str(body["bet_id"]))
        if destination == contract.DECLINE:
            return self._decline(bet) if bet and bet.state == OPEN else self._fail("bet_not_found")
        if bet is None:
            return self._fail("bet_not_found", {"bet_id": str(body["bet_id"])})
        handler = getattr(self, _BET_HANDLERS[destination])
        return handler(bet, self._ledger.players[bet.player_id], body, lax)

    def _place(self, body: dict, foreign_params: str | None, lax: bool) -> Answer:
        token = session_id(foreign_params, self.session_key)
        player_id = self._ledger.sessions.get(token) if token else None
        if player_id is None:
            return self._fail("auth_session_unknown")
        player = self._ledger.players[player_id]
        if player.expired:
            return self._fail("auth_credentials_expired")
        stake = money(body, "bet_stake", positive=True)
        shape = bet_shape_problem(body)
        if shape:
            raise BodyError(*shape)
        bet = self._ledger.bets.get(str(body["bet_id"]))
        if bet is not None and not lax:
            return self._fail("bet_already_exists", bet)
        hold = stake
        if stake > player.available:
            if bug_names.OK_ON_INSUFFICIENT not in self.bugs:
                return self._fail("not_enough_balance",
                                  {"actual_balance": payouts.format_amount(player.available)})
            hold = Decimal(0)
        player.available -= hold
        player.held += hold
        if bet is not None:
            bet.held_amount += hold
        else:
            # A tolerant reader: the type and sizes only matter to the half_win_as_win bug.
            self._ledger.bets[str(body["bet_id"])] = Bet(
                str(body["bet_id"]), player.player_id, body.get("bet_type") or payouts.SINGLE,
                stake, tuple(body.get("bet_system_sizes") or (1,)), hold)
        return NO_CONTENT

    def _accept(self, bet: Bet, player: Player, body: dict, lax: bool) -> Answer:
        return NO_CONTENT if bet.state == OPEN else self._fail("bet_not_open", bet)

    def _decline(self, bet: Bet) -> Answer:
        bet.state = DECLINED
        if bug_names.NO_RELEASE_ON_DECLINE not in self.bugs:
            self._release(bet)
        return NO_CONTENT

    def _settle(self, bet: Bet, player: Player, body: dict, lax: bool) -> Answer:
        amount = money(body, "settle_amount")
        if bet.state == CASHED_OUT and amount == 0:
            # The sportsbook still settles a cashed-out bet (type 3, amount 0): the cash-out
            # paid it already, so it is answered and nothing moves.
            return NO_CONTENT
        resettle_ok = lax or bug_names.IGNORES_UNSETTLE in self.bugs
        if bet.state != OPEN and not (bet.state == SETTLED and resettle_ok):
            return self._fail("bet_already_settled" if bet.state == SETTLED else "bet_not_open",
                              bet)
        self._release(bet, credit=False)
        bet.credited = settle_credit(bet, body, amount, self.bugs)
        player.available += bet.credited
        bet.state = SETTLED
        return NO_CONTENT

    def _unsettle(self, bet: Bet, player: Player, body: dict, lax: bool) -> Answer:
        amount = money(body, "unsettle_amount")
        if bug_names.IGNORES_UNSETTLE in self.bugs:
            return NO_CONTENT
        if bet.state == CASHED_OUT:
            return self._unsettle_cash_out(bet, player)
        if bet.state != SETTLED and not lax:
            return self._fail("bet_not_settled", bet)
        player.available -= amount
        player.held += bet.stake
        bet.held_amount += bet.stake
        bet.state = OPEN
        return NO_CONTENT

    def _unsettle_cash_out(self, bet: Bet, player: Player) -> Answer:
        """An unsettle of a cashed-out bet reverses the cash-out: the payout goes back and the
        stake is held again (what the settle after it credited was nothing)."""
        for order in self._ledger.cash_outs.values():
            if order.bet_id == bet.bet_id and order.state == ACCEPTED:
                player.available -= order.refund_amount
                order.state = ANNULLED
        player.held += bet.stake
        bet.held_amount += bet.stake
        bet.state = OPEN
        return NO_CONTENT

    def _cash_out(self, bet: Bet, player: Player, body: dict, lax: bool) -> Answer:
        refund = money(body, "refund_amount")
        if bet.state != OPEN and not lax:
            return self._fail("bet_not_open", bet)
        released = self._release(bet, credit=False)
        player.available += refund
        bet.state = CASHED_OUT
        order_id = str(body["cash_out_order_id"])
        self._ledger.cash_outs[order_id] = CashOut(order_id, bet.bet_id, refund, released)
        return NO_CONTENT

    def _cash_out_declined(self, bet: Bet, player: Player, body: dict, lax: bool) -> Answer:
        orders = [self._ledger.cash_outs.get(str(i)) for i in body["cash_out_order_ids"]]
        orders = [o for o in orders if o and o.bet_id == bet.bet_id
                  and (o.state == ACCEPTED or lax)]
        if not orders:
            return self._fail("cash_out_not_found",
                              {"cash_out_order_ids": body["cash_out_order_ids"]})
        for order in orders:
            player.available -= order.refund_amount
            player.held += order.released_amount
            bet.held_amount += order.released_amount
            order.state = ANNULLED
        bet.state = OPEN
        return NO_CONTENT

    def _release(self, bet: Bet, credit: bool = True) -> Decimal:
        """Take the bet's hold off ``held`` (back to ``available`` when ``credit``)."""
        player = self._ledger.players[bet.player_id]
        released, bet.held_amount = bet.held_amount, Decimal(0)
        player.held -= released
        if credit:
            player.available += released
        return released

    # --- answers ----------------------------------------------------------------------------

    def _error(self, code: str, data: dict | None = None) -> dict:
        if bug_names.WRONG_ERROR_SHAPE in self.bugs:
            return {"message": code, "data": data or {}}
        return contract.error_body(code, data)

    def _fail(self, code: str, data: dict | Bet | None = None) -> Answer:
        if isinstance(data, Bet):
            data = {"bet_id": data.bet_id, "bet_state": data.state}
        return Answer(400, self._error(code, data))

    def _reject(self, data: dict, destination: str, body: object = None) -> Answer:
        answer = Answer(400, self._error(INVALID_BODY_CODE, data))
        with self._lock:
            self._note(destination, body if isinstance(body, dict) else {}, answer,
                       f"{data['field']} {data['problem']}")
        return answer

    def _note(self, destination: str, body: dict, answer: Answer, what: str) -> None:
        bet = self._ledger.bets.get(str(body.get("bet_id")))
        self._recent.append({
            "at": self._now(),
            "destination": destination, "request_id": body.get("request_id"),
            "bet_id": body.get("bet_id"), "player_id": bet.player_id if bet else None,
            "status": answer.status, "code": contract.error_code_of(answer.body)
            or (answer.body or {}).get("message"), "note": what,
        })

    def _now(self) -> str:
        """The platform clock's time, ISO 8601 UTC to the millisecond."""
        return datetime.fromtimestamp(self._clock(), UTC).isoformat(timespec="milliseconds")

    def _save(self) -> None:
        if self.state_file is not None:
            self.state_file.save(self._ledger)



def _movements_of(movements: list[Movement], count: int,
                  player_id: str | None) -> Iterator[Movement]:
    """The first ``count`` movements (those there when the journal was read), of ``player_id``
    only when given."""
    for index in range(count):
        movement = movements[index]
        if player_id is None or movement.player_id == player_id:
            yield movement
