"""What every console script (``repro``, ``repro-cuda``, ``repro-mae``) does around a command:
errors become one line on stderr and an exit code."""

import os
import sys
from typing import Callable, Optional

from repro_core.errors import ReproError


def run_command(command: Callable[[], Optional[int]], prog: str) -> int:
    """Run ``command()`` and return its exit code (None counts as 0).

    - ``ReproError``: ``"PROG: error: MESSAGE"`` on stderr, the error's ``exit_code``;
    - ``KeyboardInterrupt``: ``"NAME: interrupted"`` (NAME: the first word of ``prog``), 130;
    - stdout closed by its reader (``| head``): quietly 0, as it is not an error of ours.
    """
    try:
        code = int(command() or 0)
        sys.stdout.flush()  # a closed pipe surfaces here, not at interpreter exit
        return code
    except ReproError as e:
        print(f"{prog}: error: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print(f"{prog.split()[0]}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
