import base64
import hashlib
import hmac
import json
import time

import httpx
from factories import PAYLOADS

import contract
from delivery import masking, signing
from delivery.records import OutgoingCallback
from delivery.requests import redact_headers
from delivery.sender import deliver_once


def _callback(**over) -> OutgoingCallback:
    base = dict(callback_id=1, request_id="req-1", bet_id="bet-1", brand_id=1,
                destination="/bet/place", payload=dict(PAYLOADS["/bet/place"], request_id="req-1",
                                                       bet_id="bet-1"),
                foreign_params={"token": "secret-session-token", "lang": "en"}, attempt_no=1,
                base_url="http://platform.test/api/", timeout_s=2.0)
    base.update(over)
    return OutgoingCallback(**base)


def _client(handler) -> httpx.Client:
    return httpx.Client(transport=httpx.MockTransport(handler))


def test_posts_json_with_contract_headers():
    seen = {}

    def handler(request: httpx.Request):
        seen["request"] = request
        return httpx.Response(204)

    attempt = deliver_once(_callback(), _client(handler))
    request = seen["request"]
    assert request.method == "POST" and str(request.url) == "http://platform.test/api/bet/place"
    assert request.headers["content-type"] == "application/json"
    assert json.loads(request.headers["foreign-params"])["token"] == "secret-session-token"
    assert request.headers["x-request-id"] == attempt.id
    assert json.loads(request.content)["request_id"] == "req-1"
    assert attempt.outcome.kind == "delivered" and attempt.response_status == 204
    assert attempt.response_body is None


def test_stored_headers_hide_secrets():
    mask = masking.for_brand(b"k" * 32, ("lang",))
    attempt = deliver_once(_callback(signing_secret="whsec_" + base64.b64encode(b"k").decode(),
                                     mask=mask),
                           _client(lambda r: httpx.Response(204)))
    stored = json.loads(attempt.request_headers["Foreign-Params"])
    assert stored == {"token": mask.fingerprint("secret-session-token"), "lang": "en"}
    assert attempt.request_headers["webhook-signature"] == "***"
    assert redact_headers({"Foreign-Params": "not json"}) == {"Foreign-Params": "***"}


def test_signature_matches_an_independent_computation():
    secret_key = b"0123456789abcdef"
    secret = "whsec_" + base64.b64encode(secret_key).decode()
    seen = {}

    def handler(request):
        seen["headers"], seen["body"] = dict(request.headers), request.content
        return httpx.Response(204)

    deliver_once(_callback(signing_secret=secret), _client(handler))
    h = seen["headers"]
    signed = f"{h['webhook-id']}.{h['webhook-timestamp']}.".encode() + seen["body"]
    expected = base64.b64encode(hmac.new(secret_key, signed, hashlib.sha256).digest()).decode()
    assert h["webhook-id"] == "req-1"
    assert h["webhook-signature"] == f"v1,{expected}"
    assert signing.verify(secret, h, seen["body"])
    assert not signing.verify(secret, h, seen["body"] + b" ")


def test_redirect_is_not_followed():
    calls = []

    def handler(request):
        calls.append(request.url)
        return httpx.Response(302, headers={"Location": "http://elsewhere.test/"})

    attempt = deliver_once(_callback(), _client(handler))
    assert len(calls) == 1
    assert (attempt.outcome.kind, attempt.outcome.error_class) == ("failed", "http_status")


def test_response_body_is_capped_and_flagged():
    big = b"x" * (contract.RESPONSE_BODY_CAP_BYTES + 10)
    attempt = deliver_once(_callback(), _client(lambda r: httpx.Response(200, content=big)))
    assert attempt.response_truncated and len(attempt.response_body) == len(big) - 10
    assert attempt.outcome.kind == "delivered"


def test_transport_errors_are_classified_not_raised():
    def timeout(request):
        raise httpx.ReadTimeout("slow", request=request)

    def refused(request):
        raise httpx.ConnectError("[Errno 111] Connection refused", request=request)

    def broken(request):
        raise httpx.RemoteProtocolError("peer closed", request=request)

    for handler, error_class in ((timeout, "timeout"), (refused, "connect"),
                                 (broken, "protocol")):
        attempt = deliver_once(_callback(), _client(handler))
        assert (attempt.outcome.kind, attempt.outcome.error_class) == ("failed", error_class)
        assert attempt.response_status is None


def test_429_carries_retry_after():
    attempt = deliver_once(_callback(), _client(
        lambda r: httpx.Response(429, headers={"Retry-After": "17"})))
    assert attempt.retry_after_s == 17


def test_the_timeout_is_one_deadline_even_against_a_trickling_platform():
    # Given a platform that sends its headers one byte every 0.2 s (each read is quick)
    from platforms import Trickling

    from delivery.sender import make_transport

    with Trickling(interval_s=0.2) as platform, make_transport(4) as client:
        callback = _callback(base_url=platform.url, timeout_s=1.0)
        # When one attempt is made with a 1 s timeout
        started = time.monotonic()
        attempt = deliver_once(callback, client)
        took_s = time.monotonic() - started
    # Then it ends as a timeout at the deadline, not when the platform stops talking
    assert attempt.outcome.kind == "failed" and attempt.outcome.error_class == "timeout"
    assert took_s < 10.0  # a per-read timeout would wait as long as the platform trickles


def test_the_worker_sends_exactly_the_callbacks_headers_and_never_replays_a_cookie():
    # Given a real platform that answers every request with a session cookie
    from receiver import Receiver, Reply

    from delivery.sender import make_transport

    with Receiver(lambda seen: Reply(204, headers={"Set-Cookie": "sid=abc; Path=/"})) as platform, \
            make_transport(2) as transport:
        # When the worker's transport sends two callbacks over the same kept-alive pool
        for n in (1, 2):
            attempt = deliver_once(_callback(base_url=platform.url, request_id=f"req-{n}"),
                                   transport)
            assert attempt.outcome.kind == "delivered"
    # Then neither request carries a cookie, and the headers are the callback's own
    first, second = platform.seen
    assert "cookie" not in first.headers and "cookie" not in second.headers
    assert set(second.headers) == {"host", "content-length", "content-type", "foreign-params",
                                   "x-request-id", "user-agent"}
