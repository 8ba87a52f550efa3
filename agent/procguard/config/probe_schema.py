"""JSON Schema of one item of a watch's `probes:` list, and the defaults it implies.

One form per probe type (`oneOf`, told apart by `type`). The common keys are the same for
every type; durations use the shared `#/$defs/duration` form (a number of seconds or a
string such as "250ms", "10s", "5m").
"""

from __future__ import annotations

from typing import Any, Dict

from .sizes import PATTERN as SIZE_PATTERN

Schema = Dict[str, Any]

PROBE_TYPES = ("http", "tcp", "exec", "heartbeat_file", "proc_state", "notify",
               "rss_max", "cpu_percent", "fd_max", "threads_max")
RESOURCE_TYPES = ("rss_max", "cpu_percent", "fd_max", "threads_max")
NAME_PATTERN = r"^[a-z0-9][a-z0-9_.-]{0,62}$"

# Defaults per type: (interval, timeout, start_delay, fall, rise), in seconds and counts.
# proc_state and notify judge time themselves (`max_duration`, the watchdog interval), so
# one failed check is already a stall.
DEFAULTS: Dict[str, Dict[str, float]] = {
    "http": {"interval": 5.0, "timeout": 2.0, "start_delay": 5.0, "fall": 3, "rise": 2},
    "tcp": {"interval": 5.0, "timeout": 2.0, "start_delay": 5.0, "fall": 3, "rise": 2},
    "exec": {"interval": 10.0, "timeout": 5.0, "start_delay": 5.0, "fall": 3, "rise": 2},
    "heartbeat_file": {"interval": 5.0, "timeout": 1.0, "start_delay": 5.0, "fall": 1, "rise": 1},
    "proc_state": {"interval": 1.0, "timeout": 1.0, "start_delay": 0.0, "fall": 1, "rise": 1},
    "notify": {"interval": 30.0, "timeout": 0.0, "start_delay": 0.0, "fall": 1, "rise": 1},
    # resource thresholds, over the watch's whole tree (its cgroup, or the sessions it started)
    "rss_max": {"interval": 5.0, "timeout": 1.0, "start_delay": 0.0, "fall": 3, "rise": 1},
    "cpu_percent": {"interval": 5.0, "timeout": 1.0, "start_delay": 0.0, "fall": 3, "rise": 1},
    "fd_max": {"interval": 5.0, "timeout": 1.0, "start_delay": 0.0, "fall": 3, "rise": 1},
    "threads_max": {"interval": 5.0, "timeout": 1.0, "start_delay": 0.0, "fall": 3, "rise": 1},
}


def _duration(description: str) -> Schema:
    return {"$ref": "#/$defs/duration", "description": description}


COMMON: Schema = {
    "name": {"type": "string", "pattern": NAME_PATTERN,
             "description": "unique within the watch; `start.ready.probe` names it"},
    "interval": _duration("time between two checks (notify: the longest allowed gap "
                          "between two WATCHDOG=1)"),
    "timeout": _duration("a check that takes longer fails"),
    "start_delay": _duration("after each (re)start, no check runs for this long"),
    "fall": {"type": "integer", "minimum": 1, "maximum": 100,
             "description": "consecutive failed checks that declare the process stalled"},
    "rise": {"type": "integer", "minimum": 1, "maximum": 100,
             "description": "consecutive good checks that clear a stall"},
}

PER_TYPE: Dict[str, Schema] = {
    "http": {
        "url": {"type": "string", "pattern": "^https?://", "description": "http:// or https:// URL"},
        "method": {"enum": ["GET", "HEAD", "POST", "OPTIONS"]},
        "expect_status": {"oneOf": [
            {"type": "integer", "minimum": 100, "maximum": 599},
            {"type": "array", "minItems": 1,
             "items": {"type": "integer", "minimum": 100, "maximum": 599}},
        ], "description": "a status code or a list of them (default 200)"},
        "expect_body": {"type": "string", "minLength": 1,
                        "description": "regular expression searched in the first 64 KiB of the body"},
        "headers": {"type": "object", "additionalProperties": {"type": "string"}},
        "verify_tls": {"oneOf": [{"type": "boolean"}, {"type": "string", "pattern": "^/"}],
                       "description": "true, false, or the path of a CA bundle"},
    },
    "tcp": {
        "host": {"type": "string", "minLength": 1, "description": "default 127.0.0.1"},
        "port": {"type": "integer", "minimum": 1, "maximum": 65535},
    },
    "exec": {
        "argv": {"type": "array", "minItems": 1, "items": {"type": "string"},
                 "description": "program and arguments, run without a shell; exit 0 is good"},
        "env": {"type": "object", "additionalProperties": {"type": "string"}},
        "cwd": {"type": "string", "pattern": "^/"},
    },
    "heartbeat_file": {
        "path": {"type": "string", "pattern": "^/", "description": "file the service touches"},
        "max_age": _duration("the file's modification time must be younger than this"),
    },
    "proc_state": {
        "states": {"type": "array", "minItems": 1, "items": {"enum": ["D", "T", "Z"]},
                   "description": "states that count as stuck (default D, T, Z; T covers t)"},
        "max_duration": _duration("how long a process may stay in one of those states (default 10s)"),
    },
    "notify": {
        "watchdog": {"type": "boolean",
                     "description": "require WATCHDOG=1 at least every `interval` (default true); "
                                    "false: READY=1 only"},
    },
    "rss_max": {
        "max": {"oneOf": [{"type": "integer", "minimum": 1}, {"type": "string", "pattern": SIZE_PATTERN}],
                "description": "resident memory of all the watch's processes together, e.g. 512M"},
    },
    "cpu_percent": {
        "max": {"type": "number", "minimum": 1, "maximum": 100000,
                "description": "CPU use in percent of one CPU (200 = two CPUs busy)"},
        "window": _duration("averaged over this long (default 30s)"),
    },
    "fd_max": {
        "max": {"type": "integer", "minimum": 1, "description": "open files of the busiest process"},
    },
    "threads_max": {
        "max": {"type": "integer", "minimum": 1, "description": "threads of all the watch's processes together"},
    },
}

REQUIRED: Dict[str, tuple] = {
    "http": ("url",), "tcp": ("port",), "exec": ("argv",), "heartbeat_file": ("path", "max_age"),
    "proc_state": (), "notify": (), "rss_max": ("max",), "cpu_percent": ("max",), "fd_max": ("max",),
    "threads_max": ("max",),
}


def _form(kind: str) -> Schema:
    return {
        "type": "object",
        "additionalProperties": False,
        "description": f"a {kind} probe",
        "properties": {"type": {"enum": [kind]}, **COMMON, **PER_TYPE[kind]},
        "required": ["name", "type", *REQUIRED[kind]],
    }


PROBE_SCHEMA: Schema = {
    "description": "a probe: name, type (" + " | ".join(PROBE_TYPES) + ") and its keys",
    "oneOf": [_form(kind) for kind in PROBE_TYPES],
}
