"""A small client for a running sandbox: open players, read wallets, post callbacks.

For tests, the traffic simulator and the integration battery's own checks; a real platform has no
such admin API (the battery observes balances through ``not_enough_balance`` probes instead).
"""
from __future__ import annotations

import json
from decimal import Decimal

import httpx

from sandbox.app import ADMIN_PREFIX

#: Default whole-request timeout of the client.
DEFAULT_TIMEOUT_S = 5.0


class SandboxClient:
    """Talks to the sandbox at ``url`` (with the base path); admin calls go to ``root_url``
    (without it; defaults to ``url``)."""

    def __init__(self, url: str, *, root_url: str | None = None,
                 timeout_s: float = DEFAULT_TIMEOUT_S):
        self.url = url.rstrip("/")
        self.root_url = (root_url or url).rstrip("/")
        self._http = httpx.Client(timeout=timeout_s)

    @classmethod
    def for_handle(cls, handle, timeout_s: float = DEFAULT_TIMEOUT_S) -> SandboxClient:
        """A client for a :class:`~sandbox.server.SandboxHandle`."""
        return cls(handle.url, root_url=handle.root_url, timeout_s=timeout_s)

    def __enter__(self) -> SandboxClient:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def add_player(self, token: str, balance: Decimal | str, *, player_id: str | None = None,
                   expired: bool = False) -> dict:
        """Open a session for a new player; raises httpx.HTTPStatusError on 400/409."""
        body = {"token": token, "balance": str(balance), "expired": expired}
        if player_id:
            body["player_id"] = player_id
        response = self._http.post(f"{self.root_url}{ADMIN_PREFIX}/players", json=body)
        response.raise_for_status()
        return response.json()

    def player(self, token: str) -> dict | None:
        """The player of session ``token`` (money as decimal strings), or None."""
        response = self._http.get(f"{self.root_url}{ADMIN_PREFIX}/players/{token}")
        if response.status_code == 404:
            return None
        response.raise_for_status()
        return response.json()

    def balance(self, token: str) -> tuple[Decimal, Decimal]:
        """``(available, held)`` of the player of session ``token``."""
        found = self.player(token)
        if found is None:
            raise KeyError(f"the sandbox has no session {token!r}")
        return Decimal(found["available"]), Decimal(found["held"])

    def bet(self, bet_id: str) -> dict | None:
        """What the sandbox knows of a bet, or None."""
        response = self._http.get(f"{self.root_url}{ADMIN_PREFIX}/bets/{bet_id}")
        return None if response.status_code == 404 else response.raise_for_status().json()

    def state(self) -> dict:
        """The whole ``/_sandbox/state`` document."""
        return self._http.get(f"{self.root_url}{ADMIN_PREFIX}/state").raise_for_status().json()

    def send(self, destination: str, body: dict | bytes, *, token: str | None = None,
             headers: dict | None = None) -> httpx.Response:
        """POST one callback as the sender would, with ``Foreign-Params: {"token": token}``."""
        sent = {"Content-Type": "application/json"}
        if token is not None:
            sent["Foreign-Params"] = json.dumps({"token": token})
        sent.update(headers or {})
        content = body if isinstance(body, bytes) else json.dumps(body).encode()
        return self._http.post(self.url + destination, content=content, headers=sent)
