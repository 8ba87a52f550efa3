"""The `procguard` command line; see main.py.

Before any command module is imported, `dataclasses` comes in without `inspect`
(lazy_stdlib.py): the agent is one of these commands, and it runs for months.
"""

from ..lazy_stdlib import import_dataclasses

import_dataclasses()
