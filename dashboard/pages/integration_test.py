"""Callbacks → Integration Test: run the battery against the brand's platform, watch its preflight
and then each case, and browse, load and compare earlier runs of the brand.

The page follows the sidebar's brand (``?brand=NAME``; with "All brands" it takes the user's
only brand, or asks for one there). ``?run=ID`` shows a stored run of any of the user's brands,
whichever brand the sidebar shows, over the page's whole width. Integration managers and admins
may run the battery, only against the brand's registered URL or those an administrator
registered for testing it (``callbacks brand test-url add``), never a typed one; the run is
recorded as theirs, through the ``callbacks_battery`` role, which may record runs of that brand
and nothing else. Analysts see past runs. Reads go through the dashboard's read engine.
"""
from __future__ import annotations

import json
import zlib
from datetime import datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
import streamlit as st

from battery import reports
from battery import store as queries
from battery.results import (
    CANCELLED,
    ERROR,
    FAILED,
    SUCCESS,
    CaseResult,
    RunResult,
    StepResult,
)
from battery.runner import DEFAULT_TIMEOUT_S, Target, run_battery
from battery.session import DEMO_TOKEN, TOKEN_KEY, foreign_params_from
from battery.suite import CASES
from dashboard import auth, components, connection, exchange, markup
from delivery import brands
from delivery.errors import CallbackDeskError, ConfigurationError

_BADGE = {SUCCESS: ":green-badge[Success]", FAILED: ":red-badge[Failed]",
          CANCELLED: ":orange-badge[Cancelled]", "running": ":blue-badge[Running]"}


@st.cache_resource(show_spinner=False)
def _battery_engine(url: str, brand_id: int):
    return connection.battery_engine(url, brand_id)


@st.cache_resource(show_spinner=False)
def _read_engine(url: str):
    engine = connection.make_engine(url)
    connection.check(engine)
    return engine


@components.guarded
def render() -> None:
    """The page body."""
    st.header("Integration Test")
    st.caption(f"Checks the heartbeat and every endpoint, then runs {len(CASES)} synthetic bet "
               "scenarios against your platform's callback endpoints and checks every answer. "
               "Run it during integration and after every redeploy.")
    try:
        engine = _read_engine(connection.dashboard_url())
    except CallbackDeskError as exc:
        st.error(markup.text(str(exc), limit=600))
        return
    names = queries.brand_names(engine)
    if not names:
        st.info("No brands yet. Add one with `callbacks brand add NAME --url BASE_URL`.")
        return
    # A run link opens its run whichever brand the sidebar shows: runs are looked up by id
    # among the user's brands.
    requested = _requested_run(engine)
    brand = _brand(engine, names)
    shown = None
    if brand is not None:
        main, side = st.columns([3, 2], gap="large")
        with main:
            shown = _run_panel(engine, brand)
        with side:
            _history(engine, brand)
    if shown is None:
        shown = requested
    if shown is not None:
        _show_run(shown, shown.brand or (brand or {}).get("name"))


def _brand(engine, names: list[str]) -> dict | None:
    """The sidebar's brand; the user's only brand under "All brands"; else None, after asking
    for one in the sidebar."""
    chosen = components.scope().brand_name
    if chosen is None and len(names) == 1:
        chosen = names[0]
    if chosen is None:
        st.info("Pick one brand in the sidebar's Brand selector to test its platform and see "
                "its runs.")
        return None
    return queries.brand(engine, chosen)


def _run_panel(engine, brand: dict) -> RunResult | None:
    """The form for those who may run the battery (the run just made, if any), or a word on
    who may."""
    user = auth.current_user()
    st.markdown(f"**Brand:** {markup.text(brand['name'])}")
    if auth.can(user, auth.RUN_BATTERY):
        return _run_form(engine, brand, user)
    st.info("Integration managers and admins run the Integration Test; the brand's past runs "
            "are listed here to open and compare.")
    return None


def _run_form(engine, brand: dict, user: auth.User) -> RunResult | None:
    """The session fields, the URL choice and the button; the run just made, if pressed."""
    urls = queries.test_urls(engine, brand["id"])
    # A new list (another brand, a URL added or removed) is a new choice: a press that was
    # meant for a URL no longer offered must not run against whichever comes first now.
    url_key = f"it_url_{brand['id']}_{zlib.crc32(json.dumps(urls).encode()):08x}"
    new_choice = url_key not in st.session_state
    st.caption(f"Trying the demo (`callbacks run`)? Its sandbox platforms read the session "
               f"under the Foreign-Params key `{TOKEN_KEY}`, and each has a test player: type "
               f"the session token `{DEMO_TOKEN}`.")
    with st.form("it_form", border=True):
        params = st.text_input("Foreign-Params (JSON)", type="password", key="it_params",
                               placeholder='{"session_id": "..."}',
                               help="The Foreign-Params object of a logged-in test player's "
                                    "session, with the keys your platform reads; sent exactly "
                                    "as given, never stored.")
        token = st.text_input("…or a session token", type="password", key="it_token",
                              help='Shorthand for Foreign-Params {"token": "<this>"}.')
        url = st.selectbox("Platform URL", urls, key=url_key,
                           help="The brand's registered URL, or one an administrator "
                                "registered for testing it (`callbacks brand test-url add "
                                "BRAND URL`).")
        st.caption(f"The run is recorded as {markup.text(user.name)}'s.")
        pressed = st.form_submit_button("Test My Integration", type="primary")
    if not pressed:
        return None
    # Decided again when pressed: the role and the URL may have changed since the form drew.
    if not auth.can(auth.current_user(), auth.RUN_BATTERY):
        st.error("Your role no longer lets you run the Integration Test.")
        return None
    if new_choice or url not in queries.test_urls(engine, brand["id"]):
        st.error("The brand's test URLs changed since the page was drawn; check the Platform "
                 "URL and press again.")
        return None
    try:
        session = foreign_params_from(token=token, foreign_params=params,
                                      field="Foreign-Params" if params.strip() else "token")
        return _run_now(brand["name"], brand["id"], url, session, user.name)
    except CallbackDeskError as exc:
        st.error(markup.text(str(exc), limit=600))
        return None


def _fingerprint_key() -> bytes | None:
    """The key of masked values' fingerprints, read through the owner's URL (no back-office
    role may read it). Without it the run's values are still masked, as a bare ``***``."""
    try:
        return brands.fingerprint_key(connection.owner_engine())
    except sa.exc.SQLAlchemyError:
        return None


def _run_now(brand_name: str, brand_id: int, url: str, foreign_params: dict,
             who: str) -> RunResult | None:
    from battery.store import RunRecorder

    writer = _battery_engine(connection.battery_url(), brand_id)
    try:
        brand = brands.brand_named(writer, brand_name)
    except sa.exc.SQLAlchemyError as exc:
        st.error(f"Runs cannot be recorded as {connection.BATTERY_ROLE}: "
                 f"{getattr(exc, 'orig', exc)}. Run `callbacks db upgrade` (it creates the "
                 "role), or point DASHBOARD_BATTERY_DATABASE_URL at it with its password.")
        return None
    target = Target(url, foreign_params, timeout_s=min(brand.timeout_s, DEFAULT_TIMEOUT_S),
                    brand_id=brand.id, signing_secret=brand.signing_secret,
                    mask=brand.mask(_fingerprint_key()), credentials=_credentials(brand, url))
    target.check()
    bar = st.progress(0.0, text="Preflight: are the heartbeat and every endpoint there, is the "
                               "session live, do balance probes work?")
    live = st.empty()

    def progress(run: RunResult, case: CaseResult | None) -> None:
        done = [c for c in run.cases if c.steps]
        if case is not None:
            bar.progress(len(done) / len(run.cases),
                         text=f"Case {case.number}/{len(run.cases)}: {case.group} / {case.name}")
        live.markdown("\n".join(f"{_BADGE[c.status]} {c.number:02d} "
                                f"{markup.text(f'{c.group} / {c.name}')} "
                                f"{markup.code(reports.ticks(c))}  " for c in done))

    run = run_battery(target, recorder=RunRecorder(writer, brand, "dashboard"),
                      on_progress=progress, triggered_by=who)
    bar.empty()
    live.empty()
    run.brand = brand_name
    if run.run_id is not None:
        # The sidebar's brand is in the address already (or it is the user's only brand).
        st.query_params["run"] = str(run.run_id)
    return run


def _credentials(brand, url: str) -> str | None:
    """The brand's URL credentials when the run goes to the brand's own URL (test URLs carry
    none). Read through the owner: callbacks_battery cannot read them."""
    if url != brand.base_url:
        return None
    try:
        return brands.url_credentials(connection.owner_engine(), brand.id)
    except sa.exc.SQLAlchemyError as exc:
        raise ConfigurationError(
            "the brand's URL credentials cannot be read through the owner's database URL "
            f"(DATABASE_URL): {type(getattr(exc, 'orig', exc)).__name__}; the run would go "
            "out without them") from None


def _requested_run(engine) -> RunResult | None:
    """The run the link's ``?run=`` names, among the runs of the user's brands."""
    run_id = st.query_params.get("run")
    if not run_id:
        return None
    # ASCII digits only: str.isdigit() also takes "²", which int() refuses.
    is_id = run_id.isascii() and run_id.isdigit() and len(run_id) <= 18
    run = queries.load_run(engine, int(run_id)) if is_id else None
    if run is None:
        st.warning(f"There is no run {markup.code(run_id)} of the brands you can see. Open "
                   "one from the brand's Pipeline history.")
    return run


def _open_run(brand: str, run_id: int) -> None:
    """Button callback: the run in the address bar, with its brand selected in the sidebar (so
    the address names both). Run before the page draws: the sidebar's selector, bound to
    ``?brand=``, may only be changed then."""
    st.session_state["brand"] = brand
    st.query_params["run"] = str(run_id)


def _show_run(run: RunResult, brand: str | None) -> None:
    """The run over the page's whole width: status, preflight, then a row per case."""
    st.divider()
    st.subheader(f"Run {run.run_id or '-'} · {markup.text(brand or '-')}")
    took = f"{(run.duration_ms or 0) / 1000:.2f} s"
    st.markdown(f"**Status:** {_BADGE[run.status]} &nbsp; {run.passed}/{len(run.cases)} passed "
                f"· {took} · run {run.run_id or '-'} by "
                f"{markup.text(run.triggered_by or '-')} · {_when(run.started_at)}")
    selected = components.scope().brand_name
    if brand and selected and selected != brand:
        st.caption(f"A run of brand {markup.text(brand)}; the sidebar shows brand "
                   f"{markup.text(selected)}.")
    st.caption(f"Brand: {markup.text(brand or '-')} · Platform: {markup.code(run.base_url)}")
    if run.status == CANCELLED and run.reason:
        st.error(f"Cancelled: {markup.text(run.reason, limit=600)}")
    _show_preflight(run)
    st.markdown("**Test cases**")
    for case in run.cases:
        label = (f"{_BADGE[case.status]} **{case.number:02d}** "
                 f"{markup.text(f'{case.group} / {case.name}')} "
                 f"{markup.code(reports.ticks(case))}")
        with st.expander(label, expanded=False):
            _show_case(case)


def _show_preflight(run: RunResult) -> None:
    """What the preflight found (errors fail the run, warnings do not), and its checks."""
    for finding in run.findings:
        (st.error if finding.level == ERROR else st.warning)(
            f"Preflight: {markup.text(finding.text, limit=600)}")
    if not run.preflight:
        return
    marks = "".join("↺" if s.cleanup else "✓" if s.passed else "✗" for s in run.preflight)
    with st.expander(f"**Preflight** {markup.code(marks)}", expanded=False):
        for check in run.preflight:
            _show_step(check)


def _show_case(case: CaseResult) -> None:
    st.caption(f"Checks: {markup.text(case.checks, limit=600)}")
    if case.message:
        st.error(markup.text(case.message, limit=600))
    if not case.steps:
        st.info("Not run: the pipeline was cancelled before this case.")
    for step in case.steps:
        _show_step(step)


def _show_step(step: StepResult) -> None:
    """The step's verdict, then what was sent and what came back, one under the other."""
    mark = "↺ cleanup" if step.cleanup else "✓" if step.passed else "✗"
    st.markdown(f"**{step.position}. {markup.text(step.label)}** → "
                f"{markup.code(step.destination)} {mark} — expected "
                f"{markup.text(step.expected)}")
    for title, message in (("Request", exchange.request_message(step.request)),
                           ("Response", exchange.response_message(step.response))):
        st.markdown(f"**{title}** &nbsp; {markup.code(message.summary)}")
        if message.headers:
            st.code(message.headers, language="http", wrap_lines=True)
        st.code(message.body, language=message.language, wrap_lines=True)


def _history(engine, brand: dict) -> None:
    st.subheader("Pipeline history")
    runs = queries.runs_of_brand(engine, brand["id"])
    if not runs:
        st.caption("No runs yet for this brand.")
        return
    for row in runs:
        took = f"{(row['duration_ms'] or 0) / 1000:.2f} s"
        text = markup.text(f"#{row['id']} {row['status'].capitalize()} · "
                           f"{row['cases_passed']}/{row['cases_total']} · {took} · "
                           f"{row['triggered_by']} · {_when(row['started_at'])}")
        st.button(text, key=f"it_load_{row['id']}", width="stretch", on_click=_open_run,
                  args=(brand["name"], row["id"]))
    if len(runs) >= 2:
        _compare(engine, brand, [r["id"] for r in runs])


def _compare(engine, brand: dict, run_ids: list[int]) -> None:
    st.subheader("Compare two runs")
    left, right = st.columns(2)
    before = left.selectbox("Before", run_ids, index=1, key="it_before")
    after = right.selectbox("After", run_ids, index=0, key="it_after")
    one, two = (queries.load_run(engine, i, brand["id"]) for i in (before, after))
    if one is None or two is None:
        return
    rows = reports.compare_runs(one, two)
    changed = sum(1 for r in rows if r["changed"])
    st.caption(f"{changed} case(s) changed between run {before} and run {after}.")
    st.dataframe([{"#": r["number"], "case": f"{r['group']} / {r['name']}",
                   f"run {before}": r["before"], f"run {after}": r["after"],
                   "changed": "●" if r["changed"] else "",
                   "why (after)": r["after_message"] or r["before_message"] or ""}
                  for r in rows], hide_index=True)


def _when(moment: datetime | None) -> str:
    """A stored UTC time in the viewer's timezone."""
    if moment is None:
        return "-"
    zone = st.context.timezone
    try:
        shown = moment.astimezone(ZoneInfo(zone)) if zone else moment
    except (KeyError, ValueError):
        shown = moment
    return shown.strftime("%Y-%m-%d %H:%M:%S %Z")
