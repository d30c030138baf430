"""An injection corpus in the data and in links: bet ids, player ids, error codes, response
bodies, restrictions, run names — Markdown links and images, ``javascript:`` URLs, raw HTML,
backticks, Streamlit directives, very long lines, right-to-left and zero-width characters.

Every value carries the marker host ``evil.example`` (or ``javascript:`` / ``pwn``), so a page
that interpreted one shows a link, an image or an element the tests can find.
"""
from __future__ import annotations

import json

import sqlalchemy as sa
from dashboard_scenarios import deliver_due
from factories import item, place_payload
from receiver import Receiver, Reply

import contract
from contract.restrictions import restriction
from delivery import brands, store
from delivery.validation import parse_callback

BRAND = "inject"
#: Values a platform, a producer or a crafted link could bring (none longer than a bet id may
#: be, none with NUL: the producer API refuses those; links carry NUL in CORPUS_PARAMS).
CORPUS = (
    "[click me](https://evil.example/phish)",
    "![pixel](https://evil.example/pixel.png)",
    "[js](javascript:alert('pwn'))",
    "<a id=pwn-a href=https://evil.example>a</a><img id=pwn-img src=https://evil.example/x>",
    "<script id=pwn-script>alert(1)</script><b id=pwn-b>bold</b>",
    "`tick` ``x`` ```<img id=pwn-code src=https://evil.example/c>```",
    ":red[alarm] :material/home: $x^2$ **bold** <https://evil.example/auto>",
    "https://evil.example/bare www.evil.example",
    "rtl \u202egnp.exe\u202c zero\u200bwidth evil.example",
    "x" * 150 + "[long](https://evil.example/long)",
)
#: Bet ids of the corpus bets (each a corpus value, made unique).
BET_IDS = tuple(f"{value} #{n}" for n, value in enumerate(CORPUS))
#: What the platform answers: an unsupported error code and a body made of the corpus.
ERROR_CODE = "[refund](https://evil.example/code)"
BODY_TEXT = "<h1 id=pwn-h1>![x](https://evil.example/body.png)</h1>\n" + "y" * 5000
#: Query parameters a crafted link could carry, per page.
CORPUS_PARAMS = {
    "bets": {"bet": CORPUS[0], "player": CORPUS[3]},
    "investigate": {"bet": CORPUS[1]},
    "history": {"group_ids": CORPUS[2], "attempt": CORPUS[4], "code": CORPUS[5]},
    "sender": {"group_ids": CORPUS[6]},
    "integration_test": {"run": CORPUS[0]},
    "reconcile": {"reconciliation": CORPUS[0]},
}
MARKERS = ("evil.example", "javascript:", "pwn-")


def platform(seen) -> Reply:
    """Every place answered with an unsupported code and a corpus body; settles with HTML."""
    if seen.path == contract.PLACE and "#1" in (seen.body or {}).get("bet_id", ""):
        return Reply(204)
    if seen.path == contract.PLACE:
        return Reply.json(400, {"error": {"code": ERROR_CODE, "data": {"note": BODY_TEXT}}},
                          {"Set-Cookie": "sid=cookie-secret-value; HttpOnly"})
    return Reply(502, BODY_TEXT.encode(), {"Content-Type": "text/html"})


def build(engine: sa.Engine, receiver_url: str) -> None:
    """A brand whose bets and answers are made of the corpus, and a stored Integration Test
    run named with it."""
    brands.add_brand(engine, BRAND, receiver_url, retry_schedule_s=(0, 3600))
    for n, bet_id in enumerate(BET_IDS):
        player = CORPUS[(n + 3) % len(CORPUS)]
        place = item(bet_id, contract.PLACE, place_payload(player=player))
        items = [place]
        if n == 1:  # delivered: the next callback is a decline with corpus restrictions
            items.append(item(bet_id, contract.DECLINE, {
                "bet_player_id": player, "restrictions": [restriction(
                    "selection_value", market_id=CORPUS[0], odd_id=CORPUS[2],
                    value="2.40")]}))
        store.enqueue(engine, BRAND, [parse_callback(i) for i in items])
    deliver_due(engine)
    _integration_run(engine)


def _integration_run(engine: sa.Engine) -> None:
    """A run as the recorder stores one, its texts made of the corpus."""
    brand_id = brands.brand_named(engine, BRAND).id
    with engine.begin() as conn:
        run_id = conn.execute(sa.text(
            "INSERT INTO integration_runs (brand_id, base_url, triggered_by, source, status,"
            " reason, timeout_s, cases_total, cases_passed, cases_failed, started_at,"
            " finished_at, duration_ms) VALUES (:brand, :url, :who, 'dashboard', 'cancelled',"
            " :reason, 4, 1, 0, 1, now(), now(), 12) RETURNING id"),
            {"brand": brand_id, "url": "https://evil.example/[x](y)", "who": CORPUS[0],
             "reason": CORPUS[1]}).scalar_one()
        conn.execute(sa.text(
            "INSERT INTO integration_cases (run_id, number, case_group, name, checks, status,"
            " steps_planned, failed_step, message) VALUES (:run, 1, 'Single', 'place',"
            " 'balance', 'failed', 1, 1, :message)"), {"run": run_id, "message": CORPUS[3]})
        conn.execute(sa.text(
            "INSERT INTO integration_steps (run_id, case_number, position, label, destination,"
            " bet_id, request_id, expected, passed, message, request, response) VALUES"
            " (:run, 1, 1, :label, '/bet/place', :bet, 'r-1', :expected, false, :message,"
            " :request, :response)"),
            {"run": run_id, "label": CORPUS[4], "bet": CORPUS[5], "expected": CORPUS[6],
             "message": CORPUS[7], "request": json.dumps({"body": CORPUS[8]}),
             "response": json.dumps({"body": BODY_TEXT})})
        conn.execute(sa.text(
            "INSERT INTO integration_runs (brand_id, base_url, triggered_by, source, status,"
            " timeout_s, cases_total, started_at) VALUES (:brand, 'http://x', :who,"
            " 'cli', 'running', 4, 1, now())"), {"brand": brand_id, "who": CORPUS[2]})


def build_with_receiver(engine: sa.Engine) -> None:
    with Receiver(platform) as receiver:
        build(engine, receiver.url)
