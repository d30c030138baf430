"""The back-office: a read-only Streamlit app over the callback queue and attempt history.

``callbacks dashboard [--port 8501] [--host 127.0.0.1]`` runs it and prints its URL;
``callbacks seed-history --attempts N`` fills a database with synthetic history to look at.

``app.py`` wires the pages; each page lives in ``pages/`` and only lays things out;
``queries.py`` is the only module that runs SQL (named blocks of ``sql/dashboard.sql``, as the
read-only ``callbacks_reader`` role); ``filters.py``, ``shaping.py``, ``tables.py``,
``verdicts.py``, ``charts.py`` and ``reference.py`` hold the decisions as pure functions, tested
without Streamlit. ``components.py`` holds what pages share (brand and time-zone scope, windows,
copyable IDs, pager). ``auth.py`` puts sign-in in front of every page and says who is signed in
and what they may do; the accounts themselves (roles, argon2 passwords, the slowing of failed
sign-ins) and the signed-in sessions live in :mod:`users`, without Streamlit.
"""
