"""The integration manager's actions on the queue — retry, recover, cancel, re-route — and
their audit trail.

- :mod:`actions.plans` — the pure decisions: which callbacks an action changes, and to what;
- :mod:`actions.store` — runs an action in one transaction (``sql/actions.sql``) and reads the
  trail;
- :mod:`actions.errors` — why an action is refused;
- :mod:`actions.cli` — ``callbacks retry|recover|cancel|actions`` and ``brand set-url``.
"""
