"""Brand health: how each brand's platform is answering now, and what money hangs on it.

Shared by the back-office's Health page and the alert evaluator (``alerts/``): the state
classification and the money-at-risk arithmetic are pure (:mod:`.state`, :mod:`.money`); the one
query that reads a brand's figures now is :func:`health.figures.read_now`.
"""
