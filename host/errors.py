"""The one exception type for mistakes a user can fix: bad input, a missing file, a board not set up.

Library code raises `UserError` with a message that names the problem and the fix; the CLI prints it as
one `zynpu: error:` line and exits 2. It lives here, below every subsystem, so that no library module
imports the CLI.
"""


class UserError(Exception):
    """A user-facing failure: printed without a traceback, exit status 2."""
