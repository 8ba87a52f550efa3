"""The JSON Schema of a watch config, built from the parts each area owns.

`procguard.config.schema.build()` is the source; `schema.json` beside it (shipped in the
package and copied to docs/) is generated from it and a test keeps them equal.
"""

from __future__ import annotations

import json
from typing import Any, Dict

from ..durations import MAX_SECONDS
from ..durations import PATTERN as DURATION_PATTERN
from .action_schema import ACTION_SCHEMA, TOP_LEVEL_SCHEMA
from .hook_schema import TOP_LEVEL_SCHEMA as HOOKS
from .probe_schema import PROBE_SCHEMA
from .service_schema import AFTER, LIMITS, OUTPUT, RELOAD, SYSTEMD_UNIT

Schema = Dict[str, Any]

NAME_PATTERN = r"^[a-z0-9][a-z0-9_.-]{0,62}$"
SIGNALS = ["TERM", "INT", "QUIT", "HUP", "KILL", "USR1", "USR2", "WINCH"]


def _duration(description: str) -> Schema:
    return {"$ref": "#/$defs/duration", "description": description}


def _obj(properties: Schema, required: Any = (), description: str = "") -> Schema:
    out: Schema = {"type": "object", "additionalProperties": False, "properties": properties}
    if required:
        out["required"] = list(required)
    if description:
        out["description"] = description
    return out


MATCH = _obj({
    "pidfile": {"type": "string", "pattern": "^/",
                "description": "absolute path of a pidfile, owned by root or start.user, in a directory only they "
                               "can write; needs a second criterion (exe, cmdline, user, or start.user)"},
    "pidfile_alone": {"type": "boolean",
                      "description": "true: accept the pidfile as the only criterion (whoever can write it "
                                     "can make the agent adopt and signal any older process)"},
    "exe": {"type": "string", "pattern": "^/", "description": "absolute path of the executable (/proc/PID/exe)"},
    "cmdline": {"type": "string", "minLength": 1,
                "description": "regular expression searched in the command line (arguments joined by spaces)"},
    "comm": {"type": "string", "minLength": 1, "maxLength": 15,
             "description": "process name (/proc/PID/comm, 15 characters at most)"},
    "user": {"type": "string", "minLength": 1, "description": "owning user name (real uid)"},
    "parent": {"type": "string", "pattern": NAME_PATTERN, "description": "name of the watch the parent process belongs to"},
}, description="how to recognise the watch's processes; all given criteria must hold")

START = _obj({
    "argv": {"type": "array", "minItems": 1, "items": {"type": "string"},
             "description": "program and arguments; no shell unless `shell: true`"},
    "shell": {"type": "boolean", "description": "run argv[0] through /bin/sh -c (argv must then hold one string)"},
    "user": {"type": "string", "minLength": 1},
    "group": {"type": "string", "minLength": 1},
    "env": {"type": "object", "additionalProperties": {"type": "string"}},
    "cwd": {"type": "string", "pattern": "^/"},
    "timeout": _duration("time for a start to become good"),
    "ready": _obj({
        "alive_for": _duration("the start is good after the process stayed up this long"),
        "probe": {"type": "string", "description": "the start is good when this probe first succeeds (or READY=1 for notify)"},
    }),
    "umask": {"type": "string", "pattern": "^(0?[0-7]{3}|inherit)$",
              "description": "file mode mask of the service (default 022); inherit: the agent's own"},
    "listen": {"type": "array", "maxItems": 32, "items": {"type": "string", "minLength": 1},
               "description": "sockets the agent binds and holds across restarts, passed to each start as fds 3.. "
                              "(LISTEN_FDS, LISTEN_PID): 127.0.0.1:8080, [::1]:8080 or /run/app.sock"},
    "listen_backlog": {"type": "integer", "minimum": 1, "maximum": 65535,
                       "description": "listen() backlog of the `listen` sockets (default 128)"},
}, required=["argv"])

STOP = _obj({
    "signal": {"enum": SIGNALS},
    "timeout": _duration("time to wait after the signal before SIGKILL"),
})

RESTART = _obj({
    "max_restarts": {"type": "integer", "minimum": 0},
    "window": _duration("restarts are counted within this sliding window"),
    "backoff": _obj({
        "initial": _duration("delay before the second restart in a row (the first is immediate)"),
        "max": _duration("the delay never grows beyond this"),
        "multiplier": {"type": "number", "minimum": 1},
        "jitter": {"type": "number", "minimum": 0, "maximum": 1},
        "reset_after": _duration("running this long after its start was good resets the backoff"),
    }),
    "no_restart_exit_codes": {"type": "array", "items": {"type": "integer", "minimum": 0, "maximum": 255}},
})

INSTANCES = _obj({
    "min": {"type": "integer", "minimum": 0},
    "max": {"type": "integer", "minimum": 1},
})


def _watch_properties() -> Schema:
    return {
        "match": MATCH,
        "instances": INSTANCES,
        "start": START,
        "stop": STOP,
        "restart": RESTART,
        "probes": {"type": "array", "items": dict(PROBE_SCHEMA)},
        "on_giveup": _obj({
            "action": {"enum": ["stop_watching", "slow_retry", "escalate"]},
            "retry_every": _duration("with slow_retry: the pace of retries after giving up"),
            "escalate": {"type": "array", "items": dict(ACTION_SCHEMA)},
        }),
        "limits": LIMITS,
        "output": OUTPUT,
        "reload": RELOAD,
        "after": AFTER,
        "systemd_unit": SYSTEMD_UNIT,
    }


def build() -> Schema:
    watch_props = _watch_properties()
    watch = _obj({"name": {"type": "string", "pattern": NAME_PATTERN}, **watch_props}, required=["name"])
    top: Schema = {
        "version": {"const": 1, "description": "format version; write 1"},
        "serial": {"type": "integer", "minimum": 0, "description": "grows with every change (signed configs)"},
        "scope": {"type": "array", "items": {"type": "string", "minLength": 1},
                  "description": "hosts this config is for: names, patterns, @group"},
        "not_after": {"type": "string", "description": "expiry time, RFC 3339"},
        "defaults": _obj(watch_props, description="merged under every watch"),
        "watches": {"type": "array", "items": watch},
        **TOP_LEVEL_SCHEMA,
        **HOOKS,
    }
    schema = _obj(top, required=["version", "watches"])
    schema.update({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "urn:procguard:schema:watches:v1",
        "title": "procguard watch config, version 1",
        "$defs": {"duration": {
            "description": "seconds as a number, or a string like 500ms, 10s, 5m, 1h",
            "oneOf": [{"type": "number", "minimum": 0, "maximum": MAX_SECONDS},
                      {"type": "string", "pattern": DURATION_PATTERN, "format": "duration"}],
        }},
    })
    return schema


def as_json() -> str:
    return json.dumps(build(), indent=2, sort_keys=True) + "\n"
