"""The one error type every repro command turns into a one-line message and exit 2."""


class ReproError(Exception):
    """A user-facing failure: the message names the file/field and what is wrong."""

    exit_code = 2
