"""The `policywatch` command, and `python -m policywatch`.

The command line is imported here, not by the console script itself: its libraries take a second
or two to load, and a Ctrl-C meanwhile printed a traceback of thirty lines of SQLAlchemy
internals. Interrupted while loading, it exits as a command interrupted does: 130, nothing said.
"""

from __future__ import annotations

import sys


def main() -> None:
    try:
        from policywatch.cli import main as run
    except KeyboardInterrupt:
        sys.exit(130)
    run()


if __name__ == "__main__":
    main()
