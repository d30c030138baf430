"""Starts the Streamlit server for the dashboard: ``python -m dashboard.server [streamlit args]``.

``callbacks dashboard`` runs ``python -m dashboard.server run dashboard/asgi.py ...``: Streamlit
then serves ``dashboard/app.py`` as an ``st.App`` behind the sign-in routes and the security
headers of :mod:`dashboard.gate`.

Streamlit switches to its old multipage mode when the entry script has a ``pages/`` folder
beside it, until the app's first ``st.navigation`` call. Ours holds page modules, not scripts:
in that mode a deep link opened first on a fresh server (``/history?group_ids=…``) would run
``dashboard/pages/history.py`` as a script and fail. Starting in navigation mode avoids that.

Tables never offer Streamlit's own "Download as CSV": it writes cells as they are, so a value
such as ``=cmd|...`` sent by a platform would run as a formula in a spreadsheet. Pages offer
the product's Export CSV instead, which neutralises formulas. The option is forced here, not
left to ``.streamlit/config.toml`` alone.
"""
from __future__ import annotations

import sys

from streamlit.runtime.pages_manager import PagesManager
from streamlit.web import cli

#: Streamlit options the dashboard never runs without, whatever the config files say.
FORCED_OPTIONS = ("--client.disableDataExport", "true")


def main(argv: list[str]) -> None:
    """Run ``streamlit <argv>`` with navigation mode already chosen."""
    PagesManager.uses_pages_directory = False
    if argv[:1] == ["run"]:
        argv = [*argv, *FORCED_OPTIONS]
    sys.argv = ["streamlit", *argv]
    cli.main()


if __name__ == "__main__":
    main(sys.argv[1:])
