"""The layout shows the architecture: each package imports only what stands below it."""
import ast
from pathlib import Path

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
    "dashboard": {"contract", "delivery", "battery", "archive", "health", "alerts", "actions",
                  "users", "sql"},
    "callbacks": {"contract", "delivery", "battery", "sandbox", "simulator", "api", "dashboard",
                  "archive", "health", "alerts", "actions", "users", "demo",
                  "sql"},
}


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
