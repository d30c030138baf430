"""Faults over real HTTP: what a sender actually meets."""
import random
import time
from collections import Counter
from decimal import Decimal

import httpx
import pytest
from sandbox_testkit import new_id, place

import contract
from sandbox.client import SandboxClient
from sandbox.config import SandboxConfig
from sandbox.faults import FaultProfile, Latency, Outage
from sandbox.server import serve_in_thread

D = Decimal


def run(profile, *, seed=11, clock=time.time):
    """A running sandbox with ``profile``, a seeded fault generator and ``clock``."""
    return serve_in_thread(SandboxConfig(faults=profile.check()), rng=random.Random(seed),
                           clock=clock)


def test_5xx_share_over_http_is_about_right_and_never_applied():
    # Given a sandbox that answers 30 % of requests with a 5xx
    with run(FaultProfile(error_rate=0.3)) as sandbox, SandboxClient.for_handle(sandbox) as client:
        sandbox.platform.add_player("tok", "1000")
        # When 200 places of 1.00 are sent
        statuses = Counter(client.send("/bet/place", place(new_id("bet"), "1.00"),
                                       token="tok").status_code for _ in range(200))
        # Then about 60 fail with a 5xx, the rest are held, and the failed ones hold nothing
        failed = sum(n for status, n in statuses.items() if status >= 500)
        assert 40 <= failed <= 80, statuses
        assert set(statuses) <= {204, 500, 502, 503}
        assert sandbox.platform.balance("tok") == (D(1000 - statuses[204]), D(statuses[204]))
        assert any(r["note"] == "fault: error" for r in client.state()["recent"])


def test_outage_window_answers_503_then_recovers():
    # Given an outage for the first second after start, on a clock the test moves
    now_s = [1_000.0]
    with run(FaultProfile(outages=(Outage(from_s=0, to_s=1.0),)),
             clock=lambda: now_s[0]) as sandbox:
        sandbox.platform.add_player("tok", "10")
        with SandboxClient.for_handle(sandbox) as client:
            # When a place is sent at once, it meets the outage
            during = client.send("/bet/place", place(new_id("bet"), "1.00"), token="tok")
            assert during.status_code == 503
            # When it is sent after the window, it is applied
            now_s[0] += 1.1
            after = client.send("/bet/place", place(new_id("bet"), "1.00"), token="tok")
            assert after.status_code == 204
        assert sandbox.platform.balance("tok") == (D("9"), D("1"))


def test_outage_in_close_mode_drops_the_connection():
    profile = FaultProfile(outages=(Outage(from_s=0, to_s=60),), outage_mode="close")
    with run(profile) as sandbox:
        with pytest.raises(httpx.RemoteProtocolError):
            httpx.post(sandbox.url + "/bet/place", json={})


def test_fixed_latency_delays_the_answer():
    with run(FaultProfile(latency=Latency("fixed", 300))) as sandbox:
        started = time.monotonic()
        response = httpx.post(sandbox.url + "/bet/place", json={})
        elapsed_s = time.monotonic() - started
    assert response.status_code == 400
    assert 0.3 <= elapsed_s < 2.0


def test_timeout_hangs_then_closes_without_applying():
    # Given every request times out after hanging 0.3 s
    with run(FaultProfile(timeout_rate=1.0, timeout_s=0.3)) as sandbox:
        sandbox.platform.add_player("tok", "10")
        with SandboxClient.for_handle(sandbox, timeout_s=0.1) as impatient:
            # When a sender with a 0.1 s timeout posts, it times out
            with pytest.raises(httpx.ReadTimeout):
                impatient.send("/bet/place", place(new_id("bet"), "1.00"), token="tok")
        with SandboxClient.for_handle(sandbox, timeout_s=3) as patient:
            # When a patient sender posts, the connection is closed after the hang
            started = time.monotonic()
            with pytest.raises(httpx.RemoteProtocolError):
                patient.send("/bet/place", place(new_id("bet"), "1.00"), token="tok")
            assert time.monotonic() - started >= 0.3
        # Then nothing was held
        assert sandbox.platform.balance("tok") == (D("10"), D("0"))


def test_timeout_that_applies_keeps_the_change_and_a_retry_replays():
    profile = FaultProfile(timeout_rate=1.0, timeout_s=0.2, timeout_applies=True)
    with run(profile) as sandbox, SandboxClient.for_handle(sandbox) as client:
        sandbox.platform.add_player("tok", "10")
        body = place(new_id("bet"), "4.00")
        with pytest.raises(httpx.RemoteProtocolError):
            client.send("/bet/place", body, token="tok")
        assert sandbox.platform.balance("tok") == (D("6.00"), D("4.00"))
        with pytest.raises(httpx.RemoteProtocolError):
            client.send("/bet/place", body, token="tok")
        assert sandbox.platform.balance("tok") == (D("6.00"), D("4.00"))


def test_unsupported_400_share_uses_a_code_the_destination_does_not_support():
    with run(FaultProfile(unsupported_rate=1.0)) as sandbox:
        sandbox.platform.add_player("tok", "10")
        with SandboxClient.for_handle(sandbox) as client:
            response = client.send("/bet/place", place(new_id("bet"), "1.00"), token="tok")
        assert response.status_code == 400
        code = contract.error_code_of(response.json())
        assert code and code not in contract.supported_codes("/bet/place")
        assert sandbox.platform.balance("tok") == (D("10"), D("0"))


def test_admin_routes_carry_no_faults():
    with run(FaultProfile(error_rate=1.0)) as sandbox:
        assert httpx.get(sandbox.admin_url + "/state").status_code == 200
