"""JSON Schema of one `on_giveup.escalate` action, and of the top-level `haproxy_agent` key.

Durations use the shared `#/$defs/duration` form. Answers for HAProxy are the agent-check
words `up`, `drain`, `down`, `maint`, or a weight such as `50%`.
"""

from __future__ import annotations

from typing import Any, Dict

Schema = Dict[str, Any]

ACTION_TYPES = ("command", "haproxy_agent", "keepalived", "pacemaker")
NAME_PATTERN = r"^[a-z0-9][a-z0-9_.-]{0,62}$"
ANSWER_PATTERN = r"^(up|drain|down|maint|[0-9]{1,3}%)$"


def _duration(description: str) -> Schema:
    return {"$ref": "#/$defs/duration", "description": description}


COMMON: Schema = {
    "name": {"type": "string", "pattern": NAME_PATTERN,
             "description": "shown in events and status (default TYPE-N, N its position)"},
    "timeout": _duration("the action is killed after this long (default 30s)"),
    "undo_after": _duration("the watch must stay healthy this long before the action is "
                            "undone (default 30s)"),
}

PER_TYPE: Dict[str, Schema] = {
    "command": {
        "argv": {"type": "array", "minItems": 1, "items": {"type": "string"},
                 "description": "program and arguments, run without a shell; exit 0 is success. "
                                "Environment: PROCGUARD_WATCH, _EVENT, _PID, _REASON, _HOST, _ACTION"},
        "undo_argv": {"type": "array", "minItems": 1, "items": {"type": "string"},
                      "description": "run when the watch is healthy again (PROCGUARD_EVENT=recovered)"},
        "env": {"type": "object", "additionalProperties": {"type": "string"}},
    },
    "haproxy_agent": {
        "state": {"enum": ["drain", "down", "maint"],
                  "description": "answer for the servers that depend on this watch while the "
                                 "escalation is in force (default: the server's `gave_up`)"},
    },
    "keepalived": {
        "track_file": {"type": "string", "pattern": "^/",
                       "description": "the file named in keepalived's `track_file` block"},
        "weight": {"type": "integer", "minimum": -254, "maximum": 254,
                   "description": "written on give-up (default -254: the file's weight "
                                  "multiplier then lowers the VRRP priority)"},
        "healthy_weight": {"type": "integer", "minimum": -254, "maximum": 254,
                           "description": "written when healthy, and at start (default 0)"},
    },
    "pacemaker": {
        "mode": {"enum": ["health", "ban"],
                 "description": "health: set a node health attribute; ban: crm_resource --ban"},
        "attribute": {"type": "string", "pattern": "^#health-[A-Za-z0-9_.-]+$",
                      "description": "node health attribute (default #health-procguard)"},
        "value": {"enum": ["yellow", "red"], "description": "value on give-up (default red)"},
        "healthy_value": {"enum": ["green", "yellow"], "description": "value when healthy (default green)"},
        "resource": {"type": "string", "minLength": 1, "description": "resource to ban (mode ban)"},
        "node": {"type": "string", "minLength": 1, "description": "node name (default: this node)"},
    },
}

REQUIRED = {"command": ("argv",), "haproxy_agent": (), "keepalived": ("track_file",), "pacemaker": ()}


def _form(kind: str) -> Schema:
    return {
        "type": "object",
        "additionalProperties": False,
        "description": f"a {kind} action",
        "properties": {"type": {"enum": [kind]}, **COMMON, **PER_TYPE[kind]},
        "required": ["type", *REQUIRED[kind]],
    }


ACTION_SCHEMA: Schema = {
    "description": "an escalation action: type (" + " | ".join(ACTION_TYPES) + ") and its keys",
    "oneOf": [_form(kind) for kind in ACTION_TYPES],
}

SERVER_SCHEMA: Schema = {
    "type": "object",
    "additionalProperties": False,
    "required": ["name", "watches"],
    "properties": {
        "name": {"type": "string", "minLength": 1,
                 "description": "what HAProxy sends with `agent-send \"NAME\\n\"`; the name "
                                "`default` answers connections that send nothing or an unknown name"},
        "watches": {"type": "array", "minItems": 1, "items": {"type": "string", "pattern": NAME_PATTERN},
                    "description": "watches this backend server depends on"},
        "healthy": {"type": "string", "pattern": ANSWER_PATTERN,
                    "description": "answer when all watches are healthy (default up, plus ready)"},
        "unhealthy": {"type": "string", "pattern": ANSWER_PATTERN,
                      "description": "answer while a watch is down, restarting or stalled (default drain)"},
        "gave_up": {"type": "string", "pattern": ANSWER_PATTERN,
                    "description": "answer while a watch has given up (default down)"},
    },
}

LISTENER_SCHEMA: Schema = {
    "type": "object",
    "additionalProperties": False,
    "required": ["port", "servers"],
    "properties": {
        "address": {"type": "string", "minLength": 1, "description": "bind address (default 127.0.0.1)"},
        "port": {"type": "integer", "minimum": 1, "maximum": 65535},
        "recover_after": _duration("a watch that gave up must stay healthy this long before its "
                                   "servers are answered healthy again (default 10s)"),
        "servers": {"type": "array", "minItems": 1, "items": SERVER_SCHEMA},
    },
}

TOP_LEVEL_SCHEMA: Dict[str, Schema] = {
    "haproxy_agent": {
        "type": "array", "items": LISTENER_SCHEMA,
        "description": "HAProxy agent-check listeners, each answering for its backend servers",
    },
}
