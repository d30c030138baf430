"""The schema of a migrated database as text: what ``sql/schema.sql`` holds.

It is read from PostgreSQL's catalogs (``sql/catalog.sql``) with the server's own ``pg_get_*def``
functions and a fixed order, not by ``pg_dump``, so the text does not depend on a client
program's version, and it is the same on every supported server version. Left out: the Dramatiq
broker's tables (``dramatiq`` schema, created by :mod:`delivery.migrate` from that package),
every row (schema_migrations' too), roles and privileges (a database without CREATEROLE has no
roles of ours), and the monthly partitions of ``attempts`` (named ``attempts_YYYY_MM`` after the
month they were created in; ``store.ensure_partitions`` makes them as time goes by).
"""
from __future__ import annotations

import re
from pathlib import Path

import sqlalchemy as sa

import sql

#: The file this module's text is kept in, beside the migrations it comes from.
SCHEMA_FILE = Path(sql.__file__).with_name(sql.SCHEMA_FILE)
#: The command that writes :data:`SCHEMA_FILE` (named in its header and in test failures).
REFRESH_COMMAND = "callbacks db upgrade && callbacks db schema --write"

HEADER = f"""\
-- The schema of a fully migrated Callback Desk database (sql/migrations applied in order).
-- GENERATED: do not edit. Refresh it after adding a migration: {REFRESH_COMMAND}
-- (delivery/schema_dump.py reads it from PostgreSQL's catalogs). Left out: the Dramatiq
-- broker's tables, rows, roles and privileges, and the monthly partitions of attempts.
"""

#: A partition named after the month (or day) it holds, created at run time.
_DATED_PARTITION = re.compile(r"_\d{4}_\d{2}(_\d{2})?$")


def dump(engine: sa.Engine) -> str:
    """The schema of the database behind ``engine`` as the text of ``sql/schema.sql``."""
    with engine.connect() as conn:
        # Expressions name objects in search_path unqualified: fix it so the text is the same
        # whatever the connection's settings.
        conn.execute(sa.text("SELECT set_config('search_path', 'public', true)"))
        rows = {name: conn.execute(sql.query("catalog.sql", name)).mappings().all()
                for name in sql.queries("catalog.sql")}
        conn.rollback()
    return render(rows)


def render(rows: dict[str, list]) -> str:
    """The text of the catalog rows of :func:`dump` (one list of mappings per query)."""
    out = [HEADER]
    out += [f"CREATE SCHEMA {r['name']};\n" for r in rows["schemas"]]
    out += [f"CREATE EXTENSION {r['name']};\n" for r in rows["extensions"]]
    out += [f"CREATE TYPE {r['name']} AS ENUM ({', '.join(r['labels'])});\n"
            for r in rows["enum_types"]]
    out += [_domain(r) for r in rows["domains"]]
    out += [_function(r["definition"]) for r in rows["functions"]]
    out += [_sequence(r) for r in rows["sequences"]]

    tables = [t for t in rows["tables"]
              if not (t["partition_of"] and _DATED_PARTITION.search(t["bare_name"]))]
    kept = {t["name"] for t in tables} | {v["name"] for v in rows["views"]}
    columns = _by_table(rows["columns"], kept)
    parts = {name: _by_table(rows[name], kept)
             for name in ("constraints", "indexes", "triggers", "policies")}
    for table in tables:
        out.append(_table(table, columns.get(table["name"], [])))
        name = table["name"]
        lines = [f"ALTER TABLE {name} ADD CONSTRAINT {c['name']} {c['definition']};"
                 for c in parts["constraints"].get(name, [])]
        lines += [f"{i['definition']};" for i in parts["indexes"].get(name, [])]
        lines += [f"{t['definition']};" for t in parts["triggers"].get(name, [])]
        if table["row_security"]:
            lines.append(f"ALTER TABLE {name} ENABLE ROW LEVEL SECURITY;")
        if table["force_row_security"]:
            lines.append(f"ALTER TABLE {name} FORCE ROW LEVEL SECURITY;")
        lines += [_policy(name, p) for p in parts["policies"].get(name, [])]
        if lines:
            out.append("\n".join(lines) + "\n")
    for view in rows["views"]:
        kind = "MATERIALIZED VIEW" if view["materialized"] else "VIEW"
        lines = [f"CREATE {kind} {view['name']} AS\n{_strip(view['definition'])};"]
        lines += [f"{i['definition']};" for i in parts["indexes"].get(view["name"], [])]
        lines += [f"{t['definition']};" for t in parts["triggers"].get(view["name"], [])]
        out.append("\n".join(lines) + "\n")
    return "\n".join(out)


def write(engine: sa.Engine, path: Path = SCHEMA_FILE) -> Path:
    """Write the schema of the database behind ``engine`` to ``path``; the path."""
    path.write_text(dump(engine))
    return path


def _by_table(rows: list, kept: set[str]) -> dict[str, list]:
    grouped: dict[str, list] = {}
    for row in rows:
        if row["table_name"] in kept:
            grouped.setdefault(row["table_name"], []).append(row)
    return grouped


def _strip(text: str) -> str:
    """A definition without trailing blanks on its lines or a final semicolon (their layout is
    the same on every server version; the end of the text is not)."""
    return "\n".join(line.rstrip() for line in text.strip().splitlines()).rstrip(";")


def _function(definition: str) -> str:
    return _strip(definition) + ";\n"


def _domain(row) -> str:
    text = f"CREATE DOMAIN {row['name']} AS {row['base_type']}"
    if row["default_value"] is not None:
        text += f" DEFAULT {row['default_value']}"
    if row["not_null"]:
        text += " NOT NULL"
    text += "".join(f" {check}" for check in row["checks"])
    return text + ";\n"


def _sequence(row) -> str:
    text = (f"CREATE SEQUENCE {row['name']} AS {row['data_type']} START {row['start_value']} "
            f"INCREMENT {row['increment']} MINVALUE {row['min_value']} "
            f"MAXVALUE {row['max_value']} CACHE {row['cache']}")
    text += " CYCLE" if row["cycles"] else ""
    if row["owned_by"]:
        text += f" OWNED BY {row['owned_by']}"
    return text + ";\n"


_IDENTITY = {"a": " GENERATED ALWAYS AS IDENTITY", "d": " GENERATED BY DEFAULT AS IDENTITY"}


def _column(col) -> str:
    text = f"    {col['name']} {col['data_type']}"
    if col["generated"] == "s":
        text += f" GENERATED ALWAYS AS ({col['default_value']}) STORED"
    elif col["default_value"] is not None:
        text += f" DEFAULT {col['default_value']}"
    text += _IDENTITY.get(col["identity"], "")
    if col["not_null"]:
        text += " NOT NULL"
    return text


def _table(table, columns: list) -> str:
    unlogged = "UNLOGGED " if table["unlogged"] else ""
    if table["partition_of"]:
        # A partition has its parent's columns.
        text = (f"CREATE {unlogged}TABLE {table['name']} PARTITION OF {table['partition_of']} "
                f"{table['bound']}")
    else:
        body = ",\n".join(_column(c) for c in columns)
        text = f"CREATE {unlogged}TABLE {table['name']} (\n{body}\n)"
        if table["partition_key"]:
            text += f" PARTITION BY {table['partition_key']}"
    if table["options"]:
        text += f" WITH ({', '.join(table['options'])})"
    return text + ";\n"


def _policy(table: str, policy) -> str:
    kind = "PERMISSIVE" if policy["permissive"] else "RESTRICTIVE"
    text = (f"CREATE POLICY {policy['name']} ON {table} AS {kind} FOR {policy['command']} "
            f"TO {', '.join(policy['roles'])}")
    if policy["using_expression"] is not None:
        text += f"\n    USING ({_strip(policy['using_expression'])})"
    if policy["check_expression"] is not None:
        text += f"\n    WITH CHECK ({_strip(policy['check_expression'])})"
    return text + ";"
