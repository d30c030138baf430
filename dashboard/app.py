"""Callback Desk back-office — ``callbacks dashboard`` runs ``streamlit run dashboard/app.py``.

This file only wires things: page settings, sign-in, the sidebar scope (brand, time zone) and
the navigation. Each page is a module in ``dashboard/pages``.
"""
from __future__ import annotations

import streamlit as st

from dashboard import auth, components, markup, navigation
from dashboard.connection import DashboardUnavailable

#: The app's few style rules. Streamlit's own "Download as CSV" on tables and chart data is
#: hidden: it writes cells as they are, so a platform's ``=cmd|...`` would run as a formula in a
#: spreadsheet; pages have Export CSV, which neutralises formulas. (``client.disableDataExport``
#: would hide it too, but also stops Ctrl+C copying a cell, which analysts need.)
_CSS = """
<style>
.cd-empty {padding: 2.5rem 0; text-align: center; color: #7a8599; font-size: 1.05rem;
           border: 1px dashed #d5dbe5; border-radius: 0.5rem; background: #fafbfd;}
[data-testid="stMainBlockContainer"] {padding-top: 2.5rem;}
[data-testid="stElementToolbarButton"]:has(button[aria-label="Download as CSV"]) {display: none;}
</style>
"""


def main(default: str = "bets") -> None:
    """Render the app with ``default`` as the page shown at ``/``."""
    st.set_page_config(page_title="Callback Desk", page_icon=":material/outbox:",
                       layout="wide")
    st.html(_CSS)
    try:
        user = auth.signed_in_user()
    except DashboardUnavailable as exc:
        st.error(f"**The dashboard cannot read the database.** {markup.text(exc, limit=None)}")
        st.stop()
    if user is None:
        # Every URL shows the sign-in form, so the address (page and filters) is kept for
        # after sign-in. Nothing to choose in the sidebar yet (after sign-out it would stay
        # open, empty).
        st.set_page_config(initial_sidebar_state="collapsed")
        st.navigation(navigation.sections(default, render=auth.sign_in_page),
                      position="hidden").run()
        return
    st.set_page_config(initial_sidebar_state="auto")  # open again after the sign-in form
    try:
        components.sidebar_scope()
    except DashboardUnavailable as exc:
        st.error(f"**The dashboard cannot read the database.** {markup.text(exc, limit=None)}")
        st.stop()
    auth.account_box(user)
    st.navigation(navigation.sections(default)).run()


if __name__ == "__main__":
    main()
