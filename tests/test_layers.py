"""The layout shows the architecture: each package imports only what stands below it, runs
only its own SQL files, and writes only its own tables."""
import ast
import re
import tomllib
from pathlib import Path

import sql

ROOT = Path(__file__).resolve().parent.parent

#: What each package may import of ours (besides itself).
ALLOWED = {
    "contract": set(),
    "sql": set(),
    "delivery": {"contract", "sql"},
    "health": {"contract", "sql"},
    "alerts": {"contract", "delivery", "health", "sql"},
    "sandbox": {"contract"},
    "battery": {"contract", "delivery", "sql"},
    "simulator": {"contract", "delivery", "sandbox"},
    "api": {"contract", "delivery", "sql"},
    "archive": {"contract", "delivery", "sql"},
    "actions": {"contract", "delivery", "sql"},
    "users": {"delivery", "sql"},
    "demo": {"contract", "delivery", "sql"},
    "reconcile": {"contract", "delivery", "archive", "sql"},
    "dashboard": {"contract", "delivery", "battery", "archive", "health", "alerts", "actions",
                  "users", "reconcile", "sql"},
    "callbacks": {"contract", "delivery", "battery", "sandbox", "simulator", "api", "dashboard",
                  "archive", "health", "alerts", "actions", "users", "demo", "reconcile",
                  "sql"},
}

#: Top-level folders with Python that are not installed: the suite and the benchmark scripts.
NOT_INSTALLED = {"tests", "bench"}

#: The package that runs each file of named queries (no other package may name it).
SQL_OWNERS = {
    "queries.sql": "delivery", "heartbeats.sql": "delivery", "stopping.sql": "delivery",
    "brands.sql": "delivery", "player_sessions.sql": "delivery", "audit.sql": "delivery",
    "catalog.sql": "delivery",
    "api.sql": "api",
    "actions.sql": "actions",
    "accounts.sql": "users", "sessions.sql": "users",
    "integration.sql": "battery",
    "archive.sql": "archive",
    "reconcile.sql": "reconcile",
    "alerts.sql": "alerts",
    "health.sql": "health",
    "dashboard.sql": "dashboard",
}

#: The package whose SQL may write each table. Tables written by triggers and functions of
#: the schema (the hourly rollups) belong to the package whose writes fire them.
TABLE_OWNERS = {
    **dict.fromkeys(["brands", "brand_url_credentials", "bets", "callbacks", "attempts",
                     "attempts_default", "attempt_rollup_hourly", "attempt_latency_hourly",
                     "attempt_rollup_state", "player_sessions", "heartbeat_minutes",
                     "config_changes", "installation_keys"], "delivery"),
    **dict.fromkeys(["api_tokens", "api_token_brands"], "api"),
    **dict.fromkeys(["actions", "action_callbacks"], "actions"),
    **dict.fromkeys(["users", "user_brands", "back_office_sessions"], "users"),
    **dict.fromkeys(["brand_test_urls", "integration_runs", "integration_cases",
                     "integration_steps"], "battery"),
    **dict.fromkeys(["archived_partitions"], "archive"),
    **dict.fromkeys(["alert_rules", "alert_urls", "alert_events", "alert_firing", "alert_flapping",
                     "alert_notifications", "alert_notification_attempts"], "alerts"),
    **dict.fromkeys(["reconciliations", "reconciliation_bets"], "reconcile"),
}

_WRITE = re.compile(r"(?<!FOR )(?<!DO )\b(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM"
                    r"|TRUNCATE(?:\s+TABLE)?|COPY)\s+([a-z_][a-z0-9_]*)", re.IGNORECASE)
_SQL_FILE = re.compile(r"^[a-z_]+\.sql$")


def _installed_packages() -> set[str]:
    with open(ROOT / "pyproject.toml", "rb") as f:
        include = tomllib.load(f)["tool"]["setuptools"]["packages"]["find"]["include"]
    return {pattern.removesuffix("*") for pattern in include}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


def test_each_package_imports_only_the_layers_below_it():
    wrong = []
    for package, allowed in ALLOWED.items():
        for path in sorted((ROOT / package).rglob("*.py")):
            for name in _imports(path) & set(ALLOWED) - {package} - allowed:
                wrong.append(f"{path.relative_to(ROOT)} imports {name}")
    assert not wrong, "\n".join(wrong)


def test_every_installed_package_has_a_place_in_the_layers():
    installed = _installed_packages()
    assert installed == set(ALLOWED), (
        f"installed but not placed in ALLOWED: {sorted(installed - set(ALLOWED))}; "
        f"placed but not installed: {sorted(set(ALLOWED) - installed)}")
    on_disk = {p.parent.name for p in ROOT.glob("*/__init__.py")} - NOT_INSTALLED
    assert on_disk <= installed, f"packages pyproject.toml does not install: {on_disk - installed}"


def _sql_files_named(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    return {node.value for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str)
            and _SQL_FILE.match(node.value)}


def test_each_sql_file_is_run_by_the_package_that_owns_it():
    assert set(sql.query_files()) == set(SQL_OWNERS), "give every query file one owner"
    wrong = []
    for package in set(ALLOWED) - {"sql"}:  # the loader names files on behalf of its callers
        for path in sorted((ROOT / package).rglob("*.py")):
            for name in _sql_files_named(path):
                owner = SQL_OWNERS.get(name)
                if owner is not None and owner != package:
                    wrong.append(f"{path.relative_to(ROOT)} runs {name}, which {owner} owns")
    assert not wrong, "\n".join(wrong)


def test_each_table_is_written_only_by_its_owners_sql():
    wrong = []
    for filename, owner in SQL_OWNERS.items():
        for name, body in sql.queries(filename).items():
            for table in {m.group(1).lower() for m in _WRITE.finditer(body)}:
                if table not in TABLE_OWNERS:
                    continue  # a CTE's name, or a table created by the query itself
                if TABLE_OWNERS[table] != owner:
                    wrong.append(f"{filename} {name} writes {table}, which "
                                 f"{TABLE_OWNERS[table]} owns")
    assert not wrong, "\n".join(wrong)


def test_every_table_of_the_schema_has_an_owner():
    schema = (ROOT / "sql" / "schema.sql").read_text()
    tables = set(re.findall(r"^CREATE TABLE (?:public\.)?([a-z_][a-z0-9_]*)", schema, re.M))
    assert tables, "sql/schema.sql lists no tables"
    assert tables - {"schema_migrations"} <= set(TABLE_OWNERS), (
        f"tables without an owner: {sorted(tables - set(TABLE_OWNERS) - {'schema_migrations'})}")


def test_every_named_query_says_what_it_does():
    silent = [f"{filename} {name}" for filename in sql.query_files()
              for name, said in sql.descriptions(filename).items() if not said]
    assert not silent, "blocks without a description line under their name:\n" + \
        "\n".join(silent)

