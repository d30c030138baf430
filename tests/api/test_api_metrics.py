"""/metrics of a real `callbacks api` process: public, Prometheus text, queue figures per brand
and the callbacks queued through it."""
import os
import re
import signal
import subprocess
import sys

import httpx
import pytest
from factories import item
from metrics_scrape import sample, scrape


@pytest.mark.slow
def test_the_api_server_serves_metrics(api_db, database_url):
    env = dict(os.environ, DATABASE_URL=database_url, CALLBACKS_API_TOKENS="secret-token")
    proc = subprocess.Popen([sys.executable, "-m", "callbacks", "api", "--port", "0"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        printed = ""
        for line in proc.stdout:
            printed += line
            if "Ctrl-C stops it" in line:
                break
        url = re.search(r"listening on (http://127\.0\.0\.1:\d+)", printed).group(1)
        auth = {"Authorization": "Bearer secret-token"}
        posted = httpx.post(f"{url}/v1/brands/acme/callbacks", headers=auth, timeout=30, json={
            "callbacks": [item("bet-1", "/bet/place"), item("bet-1", "/bet/accept")]})
        assert posted.status_code == 201, posted.text
        # When Prometheus scrapes it without a token
        answer = httpx.get(f"{url}/metrics", timeout=30)
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("text/plain")
        samples = scrape(f"{url}/metrics")
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=30)
    # Then it reads the queue per brand and what this API queued
    assert sample(samples, "callbacks_queue_depth", brand="acme") == 2
    assert sample(samples, "callbacks_due_now", brand="acme") == 1
    assert sample(samples, "callbacks_in_flight", brand="acme") == 0
    assert sample(samples, "callbacks_oldest_pending_age_seconds", brand="acme") >= 0
    assert sample(samples, "callbacks_api_queued_total", brand="acme") == 2
