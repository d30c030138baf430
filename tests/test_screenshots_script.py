"""``scripts/screenshots.py`` answers ``--help`` and shoots exactly the sidebar's pages (no
browser, no database: those it starts only when run for real)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from dashboard.navigation import PAGES

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "screenshots.py"


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True,
                          timeout=60)


def test_help_says_what_it_does_and_where_the_screenshots_go():
    done = _run("--help")
    assert done.returncode == 0, done.stderr
    said = " ".join(done.stdout.split())
    assert "--out DIR" in said and "screenshots/<UTC timestamp>" in said


def test_it_shoots_every_page_of_the_sidebar():
    done = _run("--list-pages")
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [spec.url_path for spec in PAGES]
