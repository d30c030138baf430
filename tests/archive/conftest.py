import sys
from pathlib import Path

# The dashboard tests' scenario helpers (deliver_due) are shared.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "dashboard"))
