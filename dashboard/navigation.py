"""The pages of the back-office: title, icon, URL path and the module that renders each.

``app.py`` builds the navigation from this list, and pages link to each other through
:func:`page`, so a page's URL is defined once.
"""
from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlencode

import streamlit as st


@dataclass(frozen=True)
class PageSpec:
    key: str
    module: str
    title: str
    icon: str
    url_path: str
    section: str


#: In the order of the sidebar.
PAGES = (
    PageSpec("bets", "dashboard.pages.bets", "Bets", ":material/receipt_long:", "bets",
             "Betting"),
    PageSpec("sender", "dashboard.pages.sender", "Callback sender", ":material/outbox:",
             "sender", "Callbacks"),
    PageSpec("history", "dashboard.pages.history", "Callback history", ":material/history:",
             "history", "Callbacks"),
    PageSpec("investigate", "dashboard.pages.investigate", "Investigate",
             ":material/troubleshoot:", "investigate", "Callbacks"),
    PageSpec("breakdowns", "dashboard.pages.breakdowns", "Breakdowns",
             ":material/bar_chart:", "breakdowns", "Callbacks"),
    PageSpec("health", "dashboard.pages.health", "Brand health", ":material/monitor_heart:",
             "health", "Callbacks"),
    PageSpec("actions", "dashboard.pages.actions", "Actions", ":material/history_edu:",
             "actions", "Callbacks"),
    PageSpec("reconcile", "dashboard.pages.reconcile", "Reconcile", ":material/balance:",
             "reconcile", "Callbacks"),
    PageSpec("integration_test", "dashboard.pages.integration_test", "Integration Test",
             ":material/fact_check:", "integration-test", "Callbacks"),
    PageSpec("api_reference", "dashboard.pages.api_reference", "Callback API reference",
             ":material/menu_book:", "api-reference", "Callbacks"),
)


#: Where the default page (served at ``/``) says it is: its own path then opens it through a
#: hidden copy instead of a "Page not found" dialog.
DEFAULT_URL_PATH = "home"


def page(key: str, *, default: bool = False, hidden: bool = False,
         render: Callable[[], None] | None = None) -> st.Page:
    """The ``st.Page`` for a page key; equal pages are built the same way everywhere.
    ``render`` draws something else at the page's URL (the sign-in form)."""
    spec = next(s for s in PAGES if s.key == key)
    render = render or importlib.import_module(spec.module).render
    return st.Page(render, title=spec.title, icon=spec.icon,
                   url_path=DEFAULT_URL_PATH if default else spec.url_path, default=default,
                   visibility="hidden" if hidden else "visible")


def sections(default: str = "bets", *,
             render: Callable[[], None] | None = None) -> dict[str, list[st.Page]]:
    """``{section: [pages]}`` for ``st.navigation``; ``render`` replaces every page's body.
    The default page is also at its own path (``/bets``), as a hidden page, so links to it
    open it."""
    grouped: dict[str, list[st.Page]] = {}
    for spec in PAGES:
        grouped.setdefault(spec.section, []).append(
            page(spec.key, default=spec.key == default, render=render))
        if spec.key == default:
            grouped[spec.section].append(page(spec.key, hidden=True, render=render))
    return grouped


def href(key: str, params: dict[str, str] | None = None) -> str:
    """A link to a page (relative to the app's root, so it works behind a path prefix) for
    table cells, where ``st.page_link`` cannot go."""
    spec = next(s for s in PAGES if s.key == key)
    return spec.url_path + (f"?{urlencode(params)}" if params else "")
