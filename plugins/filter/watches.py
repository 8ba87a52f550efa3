# Copyright: procguard developers
# Apache License 2.0 (see LICENSE)
"""procguard.fleet.merge_watches: merge the inventory's watch layers into one list.
Documentation: merge_watches.yml beside this file."""

from __future__ import annotations

import copy

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


def merge_watches(layers, overrides=None, absent=None):
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
            merged[name] = _deep_merge(merged.get(name, {}), watch)
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


class FilterModule:
    def filters(self):
        return {"merge_watches": merge_watches}
