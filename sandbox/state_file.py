"""The state file: the platform's ledger as JSON, written atomically after every change."""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from contract.errors import ConfigurationError
from sandbox.ledger import Ledger


class StateFile:
    """Loads and saves a :class:`~sandbox.ledger.Ledger` at ``path``.

    A save writes a temporary file next to ``path``, flushes it to disk and renames it over
    ``path``, so a crash leaves either the old state or the new one, never half of each.
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)

    def load(self) -> Ledger | None:
        """The saved ledger, or None when there is no file yet."""
        if not self.path.exists():
            return None
        try:
            return Ledger.from_json(json.loads(self.path.read_text(encoding="utf-8")))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ConfigurationError(
                f"--state-file {str(self.path)!r} cannot be read as sandbox state ({exc}); "
                "point it at a new path or delete the file to start empty") from exc

    def save(self, ledger: Ledger) -> None:
        """Write ``ledger`` atomically."""
        directory = self.path.parent
        directory.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=f".{self.path.name}.", dir=directory)
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                json.dump(ledger.to_json(), out, separators=(",", ":"))
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, self.path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
