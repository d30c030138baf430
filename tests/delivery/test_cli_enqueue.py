"""`callbacks enqueue FILE` cannot be crashed by its input: every malformed file is refused with
exit code 2 and one line naming the input line, the field and what is allowed; nothing is
written and no Foreign-Params value is ever echoed."""
import json

import pytest
from factories import PAYLOADS, item, odd
from test_cli import _count, callbacks

SECRET = "sess-7f3a9c-secret"


def _line(**over) -> bytes:
    raw = item("bet-1", "/bet/place", foreign_params={"token": SECRET})
    raw.update(over)
    return json.dumps(raw).encode()


def _place(**payload) -> bytes:
    return _line(payload=dict(PAYLOADS["/bet/place"], **payload))


def _nested(depth: int) -> bytes:
    return (b'{"bet_id": "bet-1", "destination": "/bet/place", "payload": '
            + b'{"meta": ' * depth + b"1" + b"}" * depth + b"}")


GOOD = _line()
CASES = {
    "non-UTF-8 byte": (GOOD + b"\n" + GOOD.replace(b"player-1", b"pl\xffyer"),
                       "line 2: not UTF-8 text (byte 0xff"),
    "NUL in a value": (_place(bet_player_id="pl\x00yer"), "line 1: payload.bet_player_id"),
    "lone surrogate": (GOOD.replace(b'"player-1"', b'"\\ud800"'),
                       "line 1: payload.bet_player_id must be text without NUL"),
    "1e400": (GOOD.replace(b'"bet_type": 1', b'"bet_type": 1e400'),
              "line 1: payload.bet_type must be a finite number"),
    "NaN": (GOOD.replace(b'"bet_type": 1', b'"bet_type": NaN'),
            "line 1: not valid JSON (NaN is not a JSON number"),
    "huge enum": (_place(bet_type=10**30), "line 1: payload.bet_type must be one of 1, 2, 3"),
    "huge system size": (_place(bet_system_sizes=[10**30]),
                         "line 1: payload.bet_system_sizes[0] must be an integer 1..100"),
    "depth 1000": (_nested(1000), "line 1: nested too deeply"),
    "depth 40": (_nested(40), "line 1: payload.meta"),
    "negative stake": (_place(bet_stake="-10.00"),
                       'line 1: payload.bet_stake must be a decimal string such as "12.50" '
                       "(not negative"),
    "negative leg odds": (_place(bet_odds=[odd(ratio="-2.50")]),
                          "line 1: payload.bet_odds[0].odd_ratio must be a decimal string"),
    "heartbeat": (_line(destination="/heartbeat", payload={}),
                  "line 1: destination /heartbeat cannot be queued"),
    "secret with NUL": (_line(foreign_params={"token": SECRET + "\x00"}),
                        "line 1: foreign_params.token must be text without NUL"),
    "request_id twice": (_place(request_id="r-1") + b"\n\n" + _place(request_id="r-1"),
                         "line 3: request_id 'r-1' is also on line 1"),
}


@pytest.mark.parametrize("name", list(CASES))
def test_malformed_input_is_refused_in_one_line(database_url, clean_db, tmp_path, name):
    # Given a brand and a file with one malformed line
    data, message = CASES[name]
    assert callbacks(database_url, "brand", "add", "acme", "--url", "http://127.0.0.1:9"
                     ).returncode == 0
    path = tmp_path / "callbacks.jsonl"
    path.write_bytes(data)
    # When it is enqueued
    done = callbacks(database_url, "enqueue", "--brand", "acme", str(path))
    # Then exit code 2, one line naming the line and field, no traceback, no secret, no rows
    assert done.returncode == 2, done.stderr
    assert message in done.stderr, done.stderr
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert SECRET not in done.stderr and SECRET not in done.stdout
    assert _count(clean_db, "callbacks") == 0 and _count(clean_db, "bets") == 0


def test_a_request_id_queued_already_is_refused_with_its_line(database_url, clean_db, tmp_path):
    # Given a callback queued from a first file
    callbacks(database_url, "brand", "add", "acme", "--url", "http://127.0.0.1:9")
    first = tmp_path / "first.jsonl"
    first.write_bytes(_place(request_id="r-1"))
    assert callbacks(database_url, "enqueue", "--brand", "acme", str(first)).returncode == 0
    # When a second file repeats it on its second line
    second = tmp_path / "second.jsonl"
    second.write_bytes(_line(bet_id="bet-2", payload=dict(PAYLOADS["/bet/place"],
                                                          request_id="r-2"))
                       + b"\n" + _place(request_id="r-1"))
    done = callbacks(database_url, "enqueue", "--brand", "acme", str(second))
    # Then it is refused naming line 2, and nothing of the second file is queued
    assert done.returncode == 2 and "line 2: request_id 'r-1' is queued already" in done.stderr
    assert _count(clean_db, "callbacks") == 1
