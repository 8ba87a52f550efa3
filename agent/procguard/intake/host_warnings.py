"""What a config asks that this host will not fully give, said by `procguard check` as
warnings with their lines (the config is still accepted): limits the host cannot enforce,
and start commands that an enabled systemd unit runs too (two supervisors, one daemon)."""

from __future__ import annotations

from typing import Any, Dict, List

from ..cgroups.capability import unenforceable
from ..config.limits_spec import CGROUP_KEYS
from ..config.model import build_config
from ..config.yamlsource import Source, dotted
from ..unit_files import double_supervision


def host_warnings(doc: Dict[str, Any], source: Source) -> List[Dict[str, Any]]:
    config = build_config(source.file, doc)
    out: List[Dict[str, Any]] = []
    index = {w.name: i for i, w in enumerate(config.watches)}
    wanted = sorted({k for w in config.watches for k in w.limits.cgroup()}, key=CGROUP_KEYS.index)
    missing = unenforceable(wanted) if wanted else {}
    for watch in config.watches:
        for key in watch.limits.cgroup():
            if key in missing:
                out.append(_warning(source, ("watches", index[watch.name], "limits", key),
                                    f"will not be enforced on this host: {missing[key]}"))
    for name, program, unit in double_supervision(config.watches):
        out.append(_warning(source, ("watches", index[name], "start", "argv", 0),
                            f"{program} is also started by the enabled unit {unit}; use `systemd_unit: {unit}` "
                            "instead, or disable the unit"))
    return out


def _warning(source: Source, path: tuple, message: str) -> Dict[str, Any]:
    return {"file": source.file, "line": source.line_of(path), "key": dotted(path), "message": message}
