"""JSON Schema of the top-level `hooks:` list: run a command, or POST JSON to a URL, when
chosen events are logged (docs/observability.md, "Event hooks").

What a schema cannot say (exactly one of command and url, event IDs that exist, watches
that exist, an absolute program) is checked with its line in hook_checks.py.
"""

from __future__ import annotations

from typing import Any, Dict

from .action_schema import NAME_PATTERN

Schema = Dict[str, Any]

SEVERITY_WORDS = ("emerg", "alert", "crit", "err", "warning", "notice", "info")
MAX_HOOKS = 32

HOOK_SCHEMA: Schema = {
    "type": "object",
    "additionalProperties": False,
    "required": ["name"],
    "description": "an event hook: on which events (events, severity, watches) and what to do (command or url)",
    "properties": {
        "name": {"type": "string", "pattern": NAME_PATTERN, "description": "shown in events and given to the hook"},
        "events": {"type": "array", "minItems": 1, "items": {"type": "string", "pattern": "^PG[0-9]{4}$"},
                   "description": "message IDs that fire the hook (docs/messages.md), e.g. [PG1009, PG1005]"},
        "severity": {"enum": list(SEVERITY_WORDS),
                     "description": "also fire on every message of this severity or worse"},
        "watches": {"type": "array", "minItems": 1, "items": {"type": "string", "pattern": NAME_PATTERN},
                    "description": "only events about these watches (default: every event that matches)"},
        "command": {"type": "array", "minItems": 1, "items": {"type": "string"},
                    "description": "program (absolute path) and arguments, run without a shell as root; "
                                   "the event is in PROCGUARD_* variables"},
        "env": {"type": "object", "additionalProperties": {"type": "string"},
                "description": "more variables for the command"},
        "url": {"type": "string", "pattern": "^https?://[^\\s]+$",
                "description": "POST the event as JSON here; any 2xx answer is success"},
        "headers": {"type": "object", "additionalProperties": {"type": "string"},
                    "description": "more HTTP headers for the POST (an Authorization token, say)"},
        "timeout": {"$ref": "#/$defs/duration",
                    "description": "the command is killed, the request abandoned, after this long (default 10s)"},
    },
}

TOP_LEVEL_SCHEMA: Dict[str, Schema] = {
    "hooks": {"type": "array", "maxItems": MAX_HOOKS, "items": HOOK_SCHEMA,
              "description": "event hooks: commands or HTTP POSTs on chosen events"},
}
