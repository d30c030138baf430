"""``callbacks simulate`` — sportsbook traffic into the brands' sandbox platforms."""
from __future__ import annotations

import sys

from delivery import brands as delivery_brands
from delivery import database, migrate, settings, store
from delivery.errors import InvalidInput

from .producer import Simulator


def register(subparsers) -> None:
    sim = subparsers.add_parser(
        "simulate", help="play the sportsbook: create bets and walk them through lifecycles",
        description="Creates players on each brand's sandbox platform, then bets at --rate per "
                    "second, walking each through place, accept, settle, unsettle, cash-out or "
                    "decline, and queues every callback for delivery. Each player's session is "
                    "opened at Callback Desk before its first bet (so its heartbeats go out) "
                    "and closed when the player leaves; a few lapse and expire, and one session "
                    "per brand is of a player the platform logged out already (the platform "
                    "ends it).")
    sim.add_argument("--rate", type=float, default=2.0, help="new bets per second (default 2)")
    sim.add_argument("--duration", type=float, default=60.0,
                     help="seconds of new bets; 0 runs until Ctrl-C (default 60)")
    sim.add_argument("--brands", type=int, default=None,
                     help="use the first N brands (default: all)")
    sim.add_argument("--brand", action="append", default=[], help="use this brand (repeatable)")
    sim.add_argument("--players", type=int, default=20, help="players per brand (default 20)")
    sim.add_argument("--pace", type=float, default=1.0,
                     help="multiplies the pauses between a bet's callbacks (default 1)")
    sim.add_argument("--seed", type=int, default=None)
    sim.add_argument("--check", action="store_true",
                     help="at the end, compare every player's sandbox wallet with the money "
                          "the simulator meant to move (exit 1 on a difference)")
    sim.set_defaults(func=run)


def _progress_printer():
    state = {"at": -1.0}

    def show(sim: Simulator, elapsed_s: float) -> None:
        if elapsed_s - state["at"] < 1.0:
            return
        state["at"] = elapsed_s
        c = sim.counters
        pending = store.status(sim.engine)["pending_callbacks"]
        print(f"\r{elapsed_s:6.0f} s  bets {c.bets}  place errors {c.place_errors}  "
              f"finished {c.finished}  active {len(sim.active)}  callbacks queued "
              f"{c.callbacks}  undelivered {pending}  sessions {c.sessions_live}   ", end="",
              file=sys.stderr, flush=True)
    return show


def run(args) -> int:
    for name in ("rate", "players", "pace"):
        if getattr(args, name) <= 0:
            raise InvalidInput(f"--{name} must be greater than 0", field=name)
    if args.duration < 0:
        raise InvalidInput("--duration must be 0 (until Ctrl-C) or more", field="duration")
    engine = database.make_engine(database.database_url(settings.from_env()))
    migrate.require_current(engine)
    brands = delivery_brands.all_brands(engine)
    if args.brand:
        brands = [delivery_brands.brand_named(engine, name) for name in args.brand]
    elif args.brands:
        brands = brands[:args.brands]
    if not brands:
        raise InvalidInput("no brands to simulate; add one with `callbacks brand add NAME --url "
                           "SANDBOX_URL`", field="brands")
    sim = Simulator(engine, brands, rate_per_s=args.rate, players_per_brand=args.players,
                    pace=args.pace, seed=args.seed)
    try:
        sim.open_players()
    except Exception as exc:  # the brand's URL is not a reachable sandbox
        raise InvalidInput(f"cannot open players on the brands' platforms ({exc}); simulate "
                           "needs brands whose URL is a running `callbacks sandbox`") from None
    names = ", ".join(b.name for b in brands)
    print(f"simulating {args.rate:g} bets/s on {names} "
          + (f"for {args.duration:g} s" if args.duration else "until Ctrl-C"), file=sys.stderr)
    try:
        counters = sim.run(args.duration, progress=_progress_printer())
    except KeyboardInterrupt:
        counters = sim.counters
    finally:
        print(file=sys.stderr)
    print(f"bets {counters.bets}, callbacks queued {counters.callbacks}, place errors "
          f"{counters.place_errors}")
    print(f"player sessions: opened {counters.sessions_opened}, closed "
          f"{counters.sessions_closed}, lapsed {counters.sessions_lapsed}, left open "
          f"{counters.sessions_live} (they expire unless refreshed); "
          f"{counters.sessions_logged_out} of players the platform had logged out")
    code = 0
    if args.check:
        code = _check(sim)
    sim.close()
    return code


def _check(sim: Simulator) -> int:
    if not store.wait_until_drained(sim.engine):
        print("wallet check: callbacks are still undelivered after 300 s; not comparing")
        return 1
    expected, actual = sim.expected_balances(), sim.platform_balances()
    wrong = {k: (expected[k], actual[k]) for k in expected if expected[k] != actual[k]}
    for (brand, token), (want, got) in sorted(wrong.items()):
        print(f"{brand} {token}: expected available/held {want[0]}/{want[1]}, "
              f"platform has {got[0]}/{got[1]}")
    print(f"wallet check: {len(expected) - len(wrong)} of {len(expected)} players match")
    return 1 if wrong else 0
