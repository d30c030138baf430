"""`callbacks api` as deployed: a real process on a free port, spoken to over HTTP."""
import os
import re
import signal
import subprocess
import sys

import httpx
import pytest
from factories import item

from delivery import store


@pytest.mark.slow
def test_the_api_command_serves_queues_and_stops_on_ctrl_c(api_db, database_url):
    # Given the command started with two environment tokens on a port the system picks
    env = dict(os.environ, DATABASE_URL=database_url, CALLBACKS_API_TOKENS="first-token, second")
    env["CALLBACKS_API_MAX_CONNECTIONS_PER_ADDRESS"] = "7"
    proc = subprocess.Popen([sys.executable, "-m", "callbacks", "api", "--port", "0",
                             "--read-timeout-s", "2.5", "--max-connections", "300"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        lines = []
        for line in proc.stdout:
            lines.append(line)
            if "Ctrl-C stops it" in line:
                break
        printed = "".join(lines)
        assert "2 from CALLBACKS_API_TOKENS" in printed, printed
        assert re.search(r"requests must arrive within 2\.5 s; connections: at most 300 "
                         r"\(open-files limit [\d,]+\), 7 per address", printed), printed
        url = re.search(r"listening on (http://127\.0\.0\.1:\d+)", printed).group(1)
        auth = {"Authorization": "Bearer second"}
        with httpx.Client(base_url=url, timeout=30) as http:
            # When a producer checks health, queues a bet and reads it back
            assert http.get("/healthz").json() == {"status": "ok"}
            assert http.post("/v1/brands/acme/callbacks", json={"callbacks": []}).status_code \
                == 401
            posted = http.post("/v1/brands/acme/callbacks", headers=auth, json={
                "callbacks": [item("bet-1", "/bet/place"), item("bet-1", "/bet/accept")]})
            assert posted.status_code == 201, posted.text
            read = http.get("/v1/bets/bet-1/callbacks", headers=auth).json()
        # Then the callbacks are in the queue, in order
        assert [c["request_id"] for c in read["callbacks"]] == posted.json()["request_ids"]
        assert [c["state"] for c in store.group_callbacks(api_db, "bet-1")] == ["pending",
                                                                                "waiting"]
    finally:
        proc.send_signal(signal.SIGINT)
        rest = proc.communicate(timeout=30)[0]
    assert proc.returncode == 0, rest
    assert "Traceback" not in rest


@pytest.mark.slow
def test_the_api_command_warns_when_no_token_can_be_valid(api_db, database_url):
    env = {k: v for k, v in os.environ.items() if k != "CALLBACKS_API_TOKENS"}
    proc = subprocess.Popen([sys.executable, "-m", "callbacks", "api", "--port", "0"],
                            env=dict(env, DATABASE_URL=database_url), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        warning = proc.stderr.readline()
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=30)
    assert "no token is valid yet" in warning and "api-token create" in warning
