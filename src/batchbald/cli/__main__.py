"""``python -m batchbald.cli``: the same as the ``batchbald`` command."""

import sys

from . import main

if __name__ == "__main__":
    sys.exit(main())
