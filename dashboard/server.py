"""Starts the Streamlit server for the dashboard: ``python -m dashboard.server [streamlit args]``.

``callbacks dashboard`` runs ``python -m dashboard.server run dashboard/asgi.py ...``: Streamlit
then serves ``dashboard/app.py`` as an ``st.App`` behind the sign-in routes and the security
headers of :mod:`dashboard.gate`.

Streamlit switches to its old multipage mode when the entry script has a ``pages/`` folder
beside it, until the app's first ``st.navigation`` call. Ours holds page modules, not scripts:
in that mode a deep link opened first on a fresh server (``/history?group_ids=…``) would run
``dashboard/pages/history.py`` as a script and fail. Starting in navigation mode avoids that.
"""
from __future__ import annotations

import sys

from streamlit.runtime.pages_manager import PagesManager
from streamlit.web import cli


def main(argv: list[str]) -> None:
    """Run ``streamlit <argv>`` with navigation mode already chosen."""
    PagesManager.uses_pages_directory = False
    sys.argv = ["streamlit", *argv]
    cli.main()


if __name__ == "__main__":
    main(sys.argv[1:])
