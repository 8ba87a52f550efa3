"""Filters for the procguard_watches role: merge watch layers, judge `procguard status`."""

from __future__ import annotations

import copy
import json

from ansible.errors import AnsibleFilterError


def _deep_merge(base, over):
    """Dicts merge key by key; lists and scalars replace; a None value removes the key."""
    out = copy.deepcopy(dict(base))
    for key, value in dict(over).items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def procguard_merge_watches(layers, overrides=None, absent=None):
    """Merge watch lists in order. A watch of the same name in a later layer is merged onto
    the earlier one; `overrides` (name -> partial watch) go last; `absent` names are dropped.
    Order of first appearance is kept, so the rendered config is stable."""
    merged = {}
    for index, layer in enumerate(layers or []):
        if not layer:
            continue
        if not isinstance(layer, list):
            raise AnsibleFilterError(f"watch layer {index} must be a list, got {type(layer).__name__}")
        for watch in layer:
            if not isinstance(watch, dict) or not watch.get("name"):
                raise AnsibleFilterError(f"every watch needs a name (layer {index}): {watch!r}")
            name = str(watch["name"])
            merged[name] = _deep_merge(merged[name], watch) if name in merged else _deep_merge({}, watch)
    for name, override in dict(overrides or {}).items():
        if name not in merged:
            raise AnsibleFilterError(
                f"procguard_watches_overrides names watch {name!r}, which no layer defines"
            )
        merged[name] = _deep_merge(merged[name], override)
        merged[name]["name"] = name
    for name in absent or []:
        merged.pop(str(name), None)
    return list(merged.values())


def procguard_health_problems(status_text, serial, require_healthy=True):
    """Problems that keep this host from passing the health gate, as readable strings:
    an empty list means the agent runs `serial` and (if asked) every watch is healthy."""
    text = (status_text or "").strip()
    if not text.startswith("{"):
        return ["agent did not answer `procguard status --json`" + (f": {text}" if text else "")]
    try:
        status = json.loads(text)
    except ValueError as exc:
        return [f"unreadable status JSON: {exc}"]
    problems = []
    agent = status.get("agent") or {}
    config = agent.get("config") or {}
    in_force = config.get("serial")
    if in_force != int(serial):
        problems.append(f"serial in force is {in_force}, expected {int(serial)}")
    refusal = agent.get("last_refusal")
    if refusal and in_force != int(serial):
        problems.append(
            "agent refused the config: {code}: {message}".format(
                code=refusal.get("code", "?"), message=refusal.get("message", "")
            )
        )
    if require_healthy:
        for watch in status.get("watches") or []:
            if not watch.get("healthy"):
                inst = watch.get("instances") or {}
                problems.append(
                    "watch {name} unhealthy: state={state} instances={cur}/{min}".format(
                        name=watch.get("name"), state=watch.get("state"),
                        cur=inst.get("current"), min=inst.get("min"),
                    )
                )
    return problems


class FilterModule:
    def filters(self):
        return {
            "procguard_merge_watches": procguard_merge_watches,
            "procguard_health_problems": procguard_health_problems,
        }
