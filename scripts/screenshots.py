"""Screenshots of every back-office page as each demo role sees it.

Makes a scratch database (on ``TEST_DATABASE_URL``'s server, else PostgreSQL on
127.0.0.1:5432, else an embedded one), seeds it with synthetic history for the demo's brands
(healthy, flaky, buggy), creates the demo's users (``callbacks run``'s admin, integration
manager and analyst), starts ``callbacks dashboard`` on it and, in Debian's Chromium driven by
Playwright, signs in as each user and saves a 1280×800 screenshot of every page of the
sidebar: ``<out>/<role>/<page>.png``. Everything it started is stopped and the database dropped
at the end.

    .venv/bin/python scripts/screenshots.py [--out DIR] [--attempts N]
"""
from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from dashboard.navigation import PAGES  # noqa: E402
from users import store as accounts  # noqa: E402

#: The screenshots' size (px).
VIEWPORT = {"width": 1280, "height": 800}
#: Folder of each demo role's screenshots, by the role of the demo user who takes them.
ROLE_FOLDERS = {accounts.ADMIN: "admin", accounts.INTEGRATION_MANAGER: "integration-manager",
                accounts.ANALYST: "analyst"}
#: The demo's brands, each seeded with its own history.
BRANDS = ("healthy", "flaky", "buggy")


def page_paths() -> list[str]:
    """The URL path of every page, in the sidebar's order (each screenshot is named so)."""
    return [spec.url_path for spec in PAGES]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="scripts/screenshots.py",
        description="Start the dashboard on a seeded scratch database and save a 1280x800 "
                    "screenshot of every page as each demo role (admin, integration manager, "
                    "analyst), then stop it. Pages: " + ", ".join(page_paths()) + ".")
    parser.add_argument("--out", type=Path, metavar="DIR",
                        help="folder for <role>/<page>.png (default: "
                             "screenshots/<UTC timestamp>)")
    parser.add_argument("--attempts", type=int, default=3000, metavar="N",
                        help="about how many attempts of history to seed per brand "
                             "(default: %(default)s)")
    parser.add_argument("--list-pages", action="store_true",
                        help="print the pages it shoots, one a line, and stop")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.list_pages:
        print("\n".join(page_paths()))
        return 0
    out = args.out or ROOT / "screenshots" / datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    from dashboards import running
    from databases import scratch_database

    with scratch_database("callbacks_screenshots") as database_url:
        users = _seed(database_url, args.attempts)
        with running(database_url) as url:
            print(f"dashboard: {url}", flush=True)
            shots = _shoot_all(url, users, out)
    print(f"{shots} screenshots in {out}")
    return 0


def _seed(database_url: str, attempts: int) -> list[tuple[accounts.User, str]]:
    """History for each demo brand and the demo's users: ``[(user, password)]``."""
    from callbacks.demo import demo_users
    from delivery import database
    from demo.seeding import seed_history

    engine = database.make_engine(database_url)
    try:
        for n, brand in enumerate(BRANDS, start=1):
            report = seed_history(engine, attempts, brand=brand, days=7, seed=n)
            print(f"seeded {brand}: {report.attempts:,} attempts, {report.bets:,} bets",
                  flush=True)
        return demo_users(engine)
    finally:
        engine.dispose()


def _shoot_all(url: str, users: list[tuple[accounts.User, str]], out: Path) -> int:
    from browsers import BROWSER_ARGS, CHROMIUM, new_context
    from playwright.sync_api import sync_playwright

    shots = 0
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=BROWSER_ARGS)
        try:
            for user, password in users:
                folder = out / ROLE_FOLDERS[user.role]
                folder.mkdir(parents=True, exist_ok=True)
                context = new_context(browser, viewport=VIEWPORT)
                try:
                    tab = context.new_page()
                    for n, path in enumerate(page_paths()):
                        tab.goto(url + path)
                        if n == 0:
                            _sign_in(tab, user.name, password)
                        _settle(tab)
                        tab.screenshot(path=str(folder / f"{path}.png"))
                        shots += 1
                    print(f"{user.name}: {len(page_paths())} pages in {folder}", flush=True)
                finally:
                    context.close()
        finally:
            browser.close()
    return shots


def _sign_in(tab, name: str, password: str) -> None:
    form = tab.get_by_role("textbox", name="User name")
    form.wait_for(timeout=30_000)
    form.fill(name)
    tab.get_by_role("textbox", name="Password").fill(password)
    tab.get_by_role("textbox", name="Password").press("Enter")
    form.wait_for(state="detached", timeout=30_000)


def _settle(tab) -> None:
    """The page's script run over and drawn; charts get a moment to animate in."""
    from browsers import settle

    settle(tab)
    time.sleep(0.5)


if __name__ == "__main__":
    sys.exit(main())
