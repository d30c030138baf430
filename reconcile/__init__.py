"""Reconciliation: the operator's own ledger of player balance movements compared, bet by bet
and money by money, with what our delivered callbacks asked of those balances.

Modules: :mod:`~reconcile.verdicts` (the money model and the verdict on one bet — pure),
:mod:`~reconcile.ledger` (reading the operator's CSV/Parquet with DuckDB),
:mod:`~reconcile.ours` (our callbacks from PostgreSQL and the archive), :mod:`~reconcile.run`
(one reconciliation, streaming), :mod:`~reconcile.store` (past reconciliations),
:mod:`~reconcile.cli` (``callbacks reconcile``).
"""
