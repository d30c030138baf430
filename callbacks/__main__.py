import sys

from callbacks.main import main

sys.exit(main())
