"""What the AppTest page tests share: the app script and a way to read a page's text."""
from __future__ import annotations

from streamlit.testing.v1 import AppTest


def app_script(page: str) -> None:
    """The whole app (sidebar scope, navigation) with ``page`` shown at ``/``."""
    from dashboard.app import main

    main(default=page)


def texts(app: AppTest) -> str:
    """Every markdown, caption, alert, code and heading text on the page, one string."""
    parts = []
    for kind in ("markdown", "caption", "success", "info", "warning", "error", "code", "title",
                 "subheader"):
        parts += [str(e.value) for e in getattr(app, kind)]
    return "\n".join(parts)
