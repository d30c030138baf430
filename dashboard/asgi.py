"""The dashboard as one ASGI app: Streamlit serving ``dashboard/app.py``, behind the sign-in
routes and the security headers of :mod:`dashboard.gate`.

``callbacks dashboard`` runs ``python -m dashboard.server run dashboard/asgi.py ...``; Streamlit
finds ``app`` below and serves it with uvicorn (``streamlit run dashboard/asgi.py`` does the same,
without the navigation-mode fix of :mod:`dashboard.server`).
"""
from pathlib import Path

from starlette.middleware import Middleware
from streamlit.starlette import App

from dashboard import connection, gate
from delivery import stalls

# A page waiting on a frozen database says "database unavailable" instead of spinning forever.
stalls.give_up_when_quiet(connection.QUIET_LIMIT_S)

app = App(Path(__file__).with_name("app.py"), routes=gate.routes(),
          middleware=[Middleware(gate.Gate)])
