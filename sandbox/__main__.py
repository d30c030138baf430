"""``python -m sandbox ARGS`` runs ``callbacks sandbox ARGS``."""
import sys

from sandbox.cli import main

sys.exit(main())
