"""A reference operator platform for the callback contract: a real HTTP server with a wallet per
player, switchable faults (:mod:`sandbox.faults`) and bugs on purpose (:mod:`sandbox.bugs`).

- :mod:`sandbox.platform` — the money model, pure Python, one method per callback.
- :mod:`sandbox.app` — the Starlette routes in front of it; :mod:`sandbox.server` runs them with
  uvicorn (``serve_in_thread`` for tests and other components).
- :mod:`sandbox.cli` — the ``callbacks sandbox`` command; :mod:`sandbox.client` — a small client
  for the admin endpoints and for posting callbacks.

See ``sandbox/README.md``.
"""
