"""The Parquet archive of old history: what leaves PostgreSQL, and how it is read back.

``export`` moves whole monthly attempt partitions past the retention (with the finished
callbacks and bets only they reference) into Parquet files written by DuckDB, checks them, and
only then drops them from PostgreSQL. ``reader`` answers the back-office's and the command
line's questions from those files with DuckDB's ``read_parquet``, always limited to the brands
the caller may see. ``layout`` names the files and keeps the manifest; ``daily`` runs the
export once a day beside the scheduler.

Only what ships inside the ``duckdb`` wheel is used (Parquet, JSON, ICU are built in); rows are
read from PostgreSQL with SQLAlchemy and handed to DuckDB as Arrow tables.
"""
