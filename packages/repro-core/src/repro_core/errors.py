"""The one error type every repro command turns into a one-line message and exit 2."""

from contextlib import contextmanager
from typing import Iterator, Optional


class ReproError(Exception):
    """A user-facing failure: the message names the file/field and what is wrong."""

    exit_code = 2


class BadValue(ReproError):
    """A ReproError about one value a caller passed: ``field`` names the parameter ("gpu",
    "python", "torch_build", "arch"), ``value`` is what was given. The message does not name a
    command-line flag; a CLI states the error with its flag: ``flagged("--gpu")`` is
    ``--gpu VALUE: MESSAGE``, or ``--gpu AFTER_FLAG`` when ``after_flag`` is given."""

    def __init__(self, message: str, field: str, value: str,
                 after_flag: Optional[str] = None) -> None:
        super().__init__(message)
        self.field, self.value, self.after_flag = field, value, after_flag

    def flagged(self, flag: str) -> ReproError:
        """The same error as a command line states it, naming ``flag``."""
        return ReproError(f"{flag} {self.after_flag or f'{self.value}: {self}'}")


@contextmanager
def flags(**names: str) -> Iterator[None]:
    """Re-raise a BadValue whose field is one of ``names`` with its flag in front:
    ``with flags(gpu="--gpu"): ...`` turns "unknown GPU name ..." into "--gpu X: unknown ..."."""
    try:
        yield
    except BadValue as e:
        if e.field not in names:
            raise
        raise e.flagged(names[e.field]) from None
