"""requirements.lock (made by scripts/lock.sh) covers every dependency pyproject.toml names, the
`test` extra included, at versions pyproject.toml allows, each pinned with hashes and no index
URL. Read from the files alone: no network."""
from __future__ import annotations

import re
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "requirements.lock"
#: One pinned requirement: ``name==version [; marker] \`` then its ``--hash`` lines.
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)(?: ;[^\\\n]*)? \\\n((?:    --hash=sha256:"
                  r"[0-9a-f]{64}(?: \\)?\n)+)", re.MULTILINE)


def _declared() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    named = project["dependencies"] + project["optional-dependencies"]["test"]
    return [Requirement(line) for line in named]


def _locked() -> dict[str, str]:
    return {canonicalize_name(name): version for name, version, _ in _PIN.findall(LOCK.read_text())}


def test_every_requirement_line_is_pinned_with_hashes():
    text = LOCK.read_text()
    requirement_lines = [line for line in text.splitlines()
                         if line and not line.startswith((" ", "#"))]
    assert requirement_lines, "requirements.lock is empty"
    assert len(_PIN.findall(text)) == len(requirement_lines), (
        "every line of requirements.lock must be name==version with --hash lines; "
        "refresh it with `bash scripts/lock.sh`")


def test_the_lock_names_no_index():
    text = LOCK.read_text()
    assert "://" not in text
    assert not re.search(r"^\s*--(index-url|extra-index-url|find-links|trusted-host)", text,
                         re.MULTILINE)


@pytest.mark.parametrize("requirement", _declared(), ids=str)
def test_each_dependency_of_pyproject_is_locked_at_an_allowed_version(requirement):
    locked = _locked()
    name = canonicalize_name(requirement.name)
    assert name in locked, (f"{requirement} (pyproject.toml) is not in requirements.lock; "
                            "refresh it with `bash scripts/lock.sh`")
    assert requirement.specifier.contains(locked[name], prereleases=True), (
        f"requirements.lock pins {name}=={locked[name]}, which {requirement} does not allow; "
        "refresh it with `bash scripts/lock.sh`")


@pytest.mark.parametrize("requirement", [r for r in _declared() if r.extras], ids=str)
def test_the_extras_asked_for_are_locked_too(requirement):
    """``dramatiq[rabbitmq,redis]`` needs pika and redis: what each extra adds (read from the
    installed distribution's metadata) is locked as well."""
    locked = _locked()
    for line in metadata.requires(requirement.name) or []:
        needed = Requirement(line)
        if needed.marker and any(needed.marker.evaluate({"extra": extra})
                                 for extra in requirement.extras):
            assert canonicalize_name(needed.name) in locked, (
                f"{needed.name} (of {requirement}) is not in requirements.lock")


def test_the_linter_is_locked():
    assert "ruff" in _locked()
