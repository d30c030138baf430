"""What the browser tests share: one Chromium per run, one dashboard server per run, and the
helpers that sign in, wait for a page and take screenshots. Its fixtures reach every test
through ``tests/conftest.py``.

Chromium is started once, as a process with a DevTools endpoint (``chromium``). Each test
module connects Playwright to it (``browser``) and each test gets a browser context of its own
(``page``, or ``new_context(browser)``), so cookies and storage never pass from one test to the
next. The Playwright connection lasts a module, not the run: while the sync API is connected
it keeps an asyncio loop marked running in this thread, and ``asyncio.run`` in the async tests
of other modules would refuse to start.

The dashboard with the default environment (``shared_dashboard``) is started at most once per
run. Each module that opens it seeds its own rows, then takes the URL from
``shared_dashboard.fresh()``, which empties the server's caches: a page must not show the
previous module's rows for as long as a query's cache lasts.
"""
from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from dashboards import running
from playwright.sync_api import Browser, BrowserContext

from callbacks.processes import die_with_parent

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = Path(__file__).resolve().parents[1] / "test-artifacts" / "screenshots"
#: Ours, then what Playwright passes when it launches a headless Chromium itself (pages draw
#: alike either way: no scrollbars, sRGB, a mouse as the pointer).
BROWSER_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--disable-quic",
                "--headless", "--hide-scrollbars", "--mute-audio", "--no-first-run",
                "--blink-settings=primaryHoverType=2,availableHoverTypes=2,"
                "primaryPointerType=4,availablePointerTypes=4",
                "--disable-dev-shm-usage", "--disable-extensions", "--force-color-profile=srgb",
                "--disable-background-timer-throttling", "--disable-renderer-backgrounding",
                "--disable-backgrounding-occluded-windows", "--password-store=basic",
                "--no-default-browser-check", "--disable-default-apps"]
#: The default browser window of the dashboard tests (px).
VIEWPORT = {"width": 1500, "height": 1000}
#: The window of the tests that check a 1280 px wide screen (px).
NARROW = {"width": 1280, "height": 900}

#: For the browser modules: skipped where Debian's Chromium is missing.
needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="Debian's Chromium is not installed (apt-get install -y chromium "
           "fonts-noto-color-emoji); the browser tests need /usr/bin/chromium")


# --- one Chromium per run -------------------------------------------------------------------

@pytest.fixture(scope="session")
def chromium(tmp_path_factory):
    """The DevTools endpoint (``http://127.0.0.1:<port>``) of the run's one Chromium."""
    profile = tmp_path_factory.mktemp("chromium-profile")
    process = subprocess.Popen(
        [str(CHROMIUM), *BROWSER_ARGS, "--remote-debugging-address=127.0.0.1",
         "--remote-debugging-port=0", f"--user-data-dir={profile}", "about:blank"],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True, preexec_fn=die_with_parent)
    try:
        yield f"http://127.0.0.1:{_devtools_port(process, profile / 'DevToolsActivePort')}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=20)


def _devtools_port(process: subprocess.Popen, written: Path, timeout_s: float = 60) -> int:
    """The port Chromium listens on for DevTools (it writes it to ``written`` once open)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"Chromium exited with code {process.returncode}")
        lines = written.read_text().splitlines() if written.exists() else []
        if len(lines) >= 2:  # the port, then the browser's websocket path
            return int(lines[0])
        time.sleep(0.05)
    raise RuntimeError(f"Chromium opened no DevTools port within {timeout_s:g} s")


@pytest.fixture(scope="module")
def browser(chromium):
    """Playwright connected to the run's Chromium for this module."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        connected = playwright.chromium.connect_over_cdp(chromium)
        yield connected
        connected.close()  # closes this module's contexts; Chromium goes on


#: Watches the dashboard's websocket in the page, so settle() can tell when the last script run
#: asked for is over and nothing more is coming: when the page last sent or received anything,
#: when it last asked for a run (a BackMsg whose first field is ``rerun_script``, number 11) and
#: when a run last finished (a ForwardMsg with ``script_finished``, number 6, other than
#: FINISHED_EARLY_FOR_RERUN: a newer run follows that one).
_WATCH_WEBSOCKETS = """(() => {
  const traffic = window.__websocketTraffic = {last: performance.now(), asked: -1, finished: -1};
  const RERUN_SCRIPT_TAG = (11 << 3) | 2, SCRIPT_FINISHED = 6, EARLY_FOR_RERUN = 2;
  const bytesOf = (data) => data instanceof ArrayBuffer ? new Uint8Array(data)
    : ArrayBuffer.isView(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
    : null;
  const finishedStatus = (bytes) => {  // script_finished of a ForwardMsg, or null
    let at = 0;
    const varint = () => {
      let value = 0, scale = 1, byte;
      do { byte = bytes[at++]; value += (byte & 0x7f) * scale; scale *= 128; } while (byte & 0x80);
      return value;
    };
    while (at < bytes.length) {
      const tag = varint(), field = Math.floor(tag / 8), wire = tag & 7;
      if (wire === 0) { const value = varint(); if (field === SCRIPT_FINISHED) return value; }
      else if (wire === 2) { const length = varint(); at += length; }
      else if (wire === 1) at += 8;
      else if (wire === 5) at += 4;
      else return null;
    }
    return null;
  };
  const Native = window.WebSocket;
  window.WebSocket = class extends Native {
    constructor(...args) {
      super(...args);
      this.addEventListener('message', (event) => {
        traffic.last = performance.now();
        const bytes = bytesOf(event.data);
        const status = bytes && finishedStatus(bytes);
        if (status !== null && status !== EARLY_FOR_RERUN) traffic.finished = traffic.last;
      });
    }
    send(data) {
      traffic.last = performance.now();
      const bytes = bytesOf(data);
      if (bytes && bytes[0] === RERUN_SCRIPT_TAG) traffic.asked = traffic.last;
      return super.send(data);
    }
  };
})()"""


def new_context(browser: Browser, **options) -> BrowserContext:
    """A browser profile of its own (cookies shared by its tabs only), VIEWPORT unless told."""
    context = browser.new_context(**{"viewport": VIEWPORT, **options})
    context.add_init_script(_WATCH_WEBSOCKETS)
    return context


@pytest.fixture
def page(browser):
    """A tab in a fresh browser context (no cookies, no storage)."""
    context = new_context(browser)
    yield context.new_page()
    context.close()


@pytest.fixture
def narrow_page(browser):
    """A tab of the NARROW size in a fresh browser context."""
    context = new_context(browser, viewport=NARROW)
    yield context.new_page()
    context.close()


# --- one dashboard server per run -----------------------------------------------------------

class Desk:
    """The running dashboard (default environment) that browser modules share."""

    def __init__(self, url: str):
        self.url = url

    def fresh(self) -> str:
        """The URL, after emptying the server's caches (call it once the module's rows are in)."""
        clear_caches(self.url)
        return self.url


@pytest.fixture(scope="session")
def shared_dashboard(engine, database_url):
    """The dashboard on the run's database, started once; stopped at the end of the run."""
    with running(database_url) as url:
        yield Desk(url)


def clear_caches(url: str) -> None:
    """Empty every ``st.cache_data`` and ``st.cache_resource`` of the dashboard at ``url``, as
    Streamlit's own "Clear caches" does: a ``clear_cache`` message on a websocket session of
    its own. The server handles a session's messages in order, so once it has answered the
    rerun sent after it, the caches are empty."""
    from streamlit.proto.BackMsg_pb2 import BackMsg
    from websockets.sync.client import connect

    stream = url.replace("http://", "ws://", 1) + "_stcore/stream"
    with connect(stream, subprotocols=["streamlit"], origin=url.rstrip("/"),
                 open_timeout=30) as socket:
        socket.send(BackMsg(clear_cache=True).SerializeToString())
        rerun = BackMsg()
        rerun.rerun_script.query_string = ""
        socket.send(rerun.SerializeToString())
        socket.recv(timeout=60)


# --- driving a page -------------------------------------------------------------------------

def on_sign_in_form(tab) -> bool:
    """Whether the tab shows the sign-in form (a page of its own, before the app)."""
    return urlsplit(tab.url).path == "/sign-in"


#: How long the page's websocket must stay quiet, from the last message and from the call of
#: settle(), to call the page settled (ms). Some widgets ask for their run a moment after the
#: click (a grid's row selection: about 0.1 s); what a run draws arrives before its end.
QUIET_MS = 500
#: True once the last run asked for has finished, no run is going, no element is loading and
#: the websocket has been quiet for QUIET_MS since ``since`` (see _WATCH_WEBSOCKETS).
_SETTLED = """([quietMs, since]) => {
  const traffic = window.__websocketTraffic;
  const app = document.querySelector("[data-testid='stApp']");
  if (!app || app.getAttribute('data-test-script-state') !== 'notRunning') return false;
  if (document.querySelector("[data-testid='stStatusWidget'], [data-testid='stSkeleton']")) {
    return false;  // a run going, or an element still loading what it draws
  }
  if (traffic.finished < 0 || traffic.finished < traffic.asked) return false;
  return performance.now() - Math.max(traffic.last, since) >= quietMs;
}"""


def settle(tab) -> None:
    """Wait until the script run is over and the page has drawn (the sign-in form: at once).
    The tab must come from a ``new_context`` (whose pages watch their websocket)."""
    if on_sign_in_form(tab):
        return
    tab.wait_for_selector("[data-testid='stMain']", timeout=30_000)
    since = tab.evaluate("() => window.__websocketTraffic && performance.now()")
    if since is None:
        raise AssertionError("settle() needs a tab of browsers.new_context")
    tab.wait_for_function(_SETTLED, arg=[QUIET_MS, since], timeout=30_000, polling=100)


def sign_in(tab, name: str | None = None, password: str | None = None) -> None:
    """Fill the sign-in form the page shows and wait for the page asked for (by default as the
    dashboard tests' admin, with the tests' password). A tab whose session is live shows the
    page at once: signed in as ``name``, nothing to do; as someone else, they sign out first."""
    from dashboard_apptest import ADMIN, PASSWORD  # tests/dashboard/, on the path by then

    name, password = name or ADMIN, password or PASSWORD
    tab.wait_for_function(_FORM_OR_SIGNED_IN, timeout=30_000)
    if not on_sign_in_form(tab):
        settle(tab)
        who = tab.locator("[data-testid='stSidebar']").get_by_text("Signed in as")
        if who.inner_text().startswith(f"Signed in as {name} ·"):
            return
        tab.get_by_role("button", name="Sign out").click()
        tab.wait_for_url("**/sign-in?**", timeout=30_000)
    tab.get_by_role("textbox", name="User name").wait_for(timeout=30_000)
    tab.get_by_role("textbox", name="User name").fill(name)
    tab.get_by_role("textbox", name="Password").fill(password)
    tab.get_by_role("textbox", name="Password").press("Enter")
    tab.get_by_role("textbox", name="User name").wait_for(state="detached", timeout=30_000)
    settle(tab)


_FORM_OR_SIGNED_IN = """() => location.pathname === '/sign-in' || [...document.querySelectorAll(
    "[data-testid='stSidebar'] [data-testid='stCaptionContainer']")].some(
    e => e.innerText.startsWith('Signed in as'))"""


def open_signed_in(tab, url: str, name: str | None = None, password: str | None = None) -> None:
    """Open ``url`` in a fresh session and sign in on the form it shows (see sign_in)."""
    tab.goto(url)
    settle(tab)
    sign_in(tab, name, password)


def drawn(tab) -> None:
    """Wait until the browser has laid out and painted the page as it stands (two frames)."""
    tab.evaluate("() => new Promise(done => requestAnimationFrame(() => "
                 "requestAnimationFrame(done)))")


def shoot(tab, name: str, *, width: int = VIEWPORT["width"],
          height: int = VIEWPORT["height"], tallest: int = 5000,
          full_page: bool = False) -> Path:
    """A screenshot of the whole page under SHOTS (the main area scrolls, so the viewport grows
    to it, up to ``tallest`` px); the viewport is ``width`` × ``height`` again afterwards."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    scrolled = tab.evaluate("() => document.querySelector('[data-testid=\"stMain\"]')"
                            ".scrollHeight")
    tab.set_viewport_size({"width": width, "height": max(height, min(scrolled, tallest))})
    drawn(tab)
    path = SHOTS / f"{name}.png"
    tab.screenshot(path=str(path), full_page=full_page)
    tab.set_viewport_size({"width": width, "height": height})
    return path


def shoot_narrow(tab, name: str) -> Path:
    """A screenshot at NARROW width of the whole page (up to 6000 px tall)."""
    return shoot(tab, name, width=NARROW["width"], height=NARROW["height"], tallest=6000,
                 full_page=True)


def shoot_form(tab, name: str) -> Path:
    """A screenshot of the sign-in form (a page of its own: no Streamlit main area)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    tab.screenshot(path=str(path))
    return path


def no_errors(tab) -> None:
    """No exception is drawn on the page."""
    errors = tab.locator("[data-testid='stException'], [data-testid='stAlertContentError']")
    shown = [t for t in errors.all_inner_texts() if "Traceback" in t or "Error" in t]
    assert not tab.locator("[data-testid='stException']").count(), shown
