"""The one exception type the CLI turns into a one-line message and a non-zero exit.

Each stage raises a subclass for input a person or a script got wrong (a bad policy file, an
unknown scope, a missing display); anything else is a bug and keeps its traceback.
"""


class WorkprintError(Exception):
    """A failure with a message fit for one line of output; ``exit_code`` for the CLI."""

    exit_code = 2
