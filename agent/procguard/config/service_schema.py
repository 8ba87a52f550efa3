"""JSON Schema of what a watch asks of the host around its processes: resource limits,
where its output goes, how it reloads, what it starts after, and a systemd unit it
supervises instead of starting anything itself."""

from __future__ import annotations

from typing import Any, Dict

from .sizes import PATTERN as SIZE_PATTERN

Schema = Dict[str, Any]

RLIMIT_PATTERN = r"^([0-9]{1,19}|unlimited)(:([0-9]{1,19}|unlimited))?$"
UNIT_PATTERN = r"^[A-Za-z0-9:_.\\@-]{1,250}\.service$"
SIGNALS = ["TERM", "INT", "QUIT", "HUP", "KILL", "USR1", "USR2", "WINCH", "CONT", "STOP", "TSTP"]


def _size(description: str) -> Schema:
    return {"oneOf": [{"type": "integer", "minimum": 0}, {"type": "string", "pattern": SIZE_PATTERN}],
            "description": description}


def _rlimit(description: str) -> Schema:
    return {"oneOf": [{"type": "integer", "minimum": 0}, {"type": "string", "pattern": RLIMIT_PATTERN}],
            "description": description + "; a number, unlimited, or SOFT:HARD"}


def _obj(properties: Schema, description: str = "") -> Schema:
    out: Schema = {"type": "object", "additionalProperties": False, "properties": properties}
    if description:
        out["description"] = description
    return out


LIMITS = _obj({
    "memory_max": _size("hard memory limit of the watch's cgroup (memory.max); above it the kernel OOM-kills"),
    "memory_high": _size("memory throttling threshold (memory.high, cgroup v2 only)"),
    "cpu_quota": {"type": "string", "pattern": r"^[0-9]{1,5}(\.[0-9]{1,3})?%$",
                  "description": "CPU time per period, in percent of one CPU (50% = half a CPU, 200% = two)"},
    "tasks_max": {"type": "integer", "minimum": 1, "description": "processes and threads of the watch (pids.max)"},
    "nofile": _rlimit("open files per process (RLIMIT_NOFILE), set when the process starts"),
    "core": _rlimit("core file size in bytes (RLIMIT_CORE)"),
    "nproc": _rlimit("processes of the service's user (RLIMIT_NPROC)"),
}, "cgroup limits of the watch and rlimits of each process it starts")

OUTPUT = _obj({
    "to": {"enum": ["auto", "journal", "file", "none"],
           "description": "auto: the journal when journald runs, else size-rotated files"},
    "max_size": _size("a file output is rotated when it reaches this size (default 10M)"),
    "keep": {"type": "integer", "minimum": 0, "maximum": 100,
             "description": "rotated files kept beside the current one (default 3)"},
}, "where the service's stdout and stderr go")

RELOAD = {
    "description": "how `procguard reload-service` reloads the service: a signal to its main processes, "
                   "or a command",
    "oneOf": [
        _obj({"signal": {"enum": SIGNALS}}),
        _obj({"argv": {"type": "array", "minItems": 1, "items": {"type": "string"},
                       "description": "program (absolute path) and arguments; exit 0 is success"},
              "timeout": {"$ref": "#/$defs/duration", "description": "the command is killed after this (default 30s)"}}),
    ],
}

AFTER = {"type": "array", "items": {"type": "string", "minLength": 1},
         "description": "watches that must be ready before this one is first started"}

SYSTEMD_UNIT = {"type": "string", "pattern": UNIT_PATTERN,
                "description": "a systemd service this watch supervises: its MainPID is watched, restarts go "
                               "through systemctl; nothing is started by procguard itself"}
