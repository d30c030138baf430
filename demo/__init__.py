"""Demo data: realistic synthetic history for demos, benchmarks and the browser tests.

- :mod:`demo.synthetic` — generates the rows, as COPY-ready text, from a seed (no database);
- :mod:`demo.seeding` — ``callbacks seed-history``: streams them into PostgreSQL and refreshes
  the Breakdowns rollups.

Seeding writes the queue's own tables (``bets``, ``callbacks``, ``attempts``) with COPY, on
purpose: it makes history that looks like the dispatcher's. Never run it against a database
that serves real traffic.
"""
