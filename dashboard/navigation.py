"""The pages of the back-office: title, icon, URL path and the module that renders each.

``app.py`` builds the navigation from this list, and pages link to each other through
:func:`page`, so a page's URL is defined once.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass

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
    PageSpec("integration_test", "dashboard.pages.integration_test", "Integration Test",
             ":material/fact_check:", "integration-test", "Callbacks"),
    PageSpec("api_reference", "dashboard.pages.api_reference", "Callback API reference",
             ":material/menu_book:", "api-reference", "Callbacks"),
)


def page(key: str, *, default: bool = False) -> st.Page:
    """The ``st.Page`` for a page key; equal pages are built the same way everywhere."""
    spec = next(s for s in PAGES if s.key == key)
    render = importlib.import_module(spec.module).render
    return st.Page(render, title=spec.title, icon=spec.icon, url_path=spec.url_path,
                   default=default)


def sections(default: str = "bets") -> dict[str, list[st.Page]]:
    """``{section: [pages]}`` for ``st.navigation``."""
    grouped: dict[str, list[st.Page]] = {}
    for spec in PAGES:
        grouped.setdefault(spec.section, []).append(page(spec.key, default=spec.key == default))
    return grouped
