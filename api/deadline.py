"""The API's database work, in threads, under a deadline.

Every route reaches the database through :meth:`Deadlines.run`: the work runs in a thread of
its own limiter, and when it has not finished :data:`DATABASE_DEADLINE_S` after the request
asked for it — waiting for a thread or for a pooled connection included — the route gives up
with :class:`DatabaseStalled` (a 503 with Retry-After). The thread is not left waiting on a
frozen server: the connections it holds are cut (:mod:`delivery.stalls`), so it ends at once
and its connections are discarded, never pooled again. The health check has a limiter and a
shorter deadline of its own, so it answers within a second even when every route thread is
taken.
"""
from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TypeVar

import anyio
import anyio.to_thread
import sqlalchemy as sa

from delivery import stalls

T = TypeVar("T")

#: How long a route's database work may take before the route answers 503.
DATABASE_DEADLINE_S = 3.0
#: How long ``/healthz`` waits for the database before answering 503.
HEALTH_DEADLINE_S = 0.7
#: Threads running the routes' database work at once; more requests wait for one (within their
#: deadline). Twice the API's connections, so a thread seldom waits for one.
ROUTE_THREADS = 40
#: Threads running health checks at once (a stalled check holds one at most until its deadline).
HEALTH_THREADS = 2


class DatabaseStalled(Exception):
    """The database did not finish a request's work within its deadline."""

    def __init__(self, deadline_s: float):
        super().__init__(f"the database did not answer within {deadline_s:g} s")
        self.deadline_s = deadline_s


class Deadlines:
    """Runs database work for the routes of one app, on one engine."""

    def __init__(self, engine: sa.Engine, *, deadline_s: float = DATABASE_DEADLINE_S,
                 health_deadline_s: float = HEALTH_DEADLINE_S):
        self.watch = stalls.watch(engine)
        self.deadline_s = deadline_s
        self.health_deadline_s = health_deadline_s
        # Limiters of their own: threads stuck until their deadline never starve the health
        # check, nor the thread pool Starlette uses for anything else.
        self._routes = anyio.CapacityLimiter(ROUTE_THREADS)
        self._health = anyio.CapacityLimiter(HEALTH_THREADS)

    async def run(self, fn: Callable[..., T], *args, **kwargs) -> T:
        """``fn(*args, **kwargs)`` in a thread; DatabaseStalled after the deadline."""
        return await self._run(self._routes, self.deadline_s, fn, args, kwargs)

    async def health(self, fn: Callable[..., T], *args, **kwargs) -> T:
        """Like :meth:`run`, for the health check: its own threads, a shorter deadline."""
        return await self._run(self._health, self.health_deadline_s, fn, args, kwargs)

    async def _run(self, limiter: anyio.CapacityLimiter, deadline_s: float,
                   fn: Callable[..., T], args: tuple, kwargs: dict) -> T:
        work = stalls.Work()
        with anyio.move_on_after(deadline_s):
            # abandon_on_cancel: at the deadline the route answers at once; the thread ends as
            # soon as its connections are cut, and keeps its limiter token until then.
            return await anyio.to_thread.run_sync(
                partial(self.watch.call, work, fn, *args, **kwargs),
                abandon_on_cancel=True, limiter=limiter)
        work.abandon()  # only a passed deadline leaves the block without returning
        raise DatabaseStalled(deadline_s)
