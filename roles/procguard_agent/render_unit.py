#!/usr/bin/env python3
"""Render the role's systemd unit template with the role's defaults into the unit the agent
package ships, so the two cannot drift (issue 8): the template is the one source.

    python3 roles/procguard_agent/render_unit.py            # write agent/procguard/data/procguard*.service
    python3 roles/procguard_agent/render_unit.py --check    # exit 1 when a shipped unit is stale

Two units: the agent's, and the holder of the watches' cgroups (procguard-watches.service).

Jinja2 with Ansible's template settings (trim_blocks, trailing newline kept); only the role's
own variables are resolved, which is all the unit template uses. Molecule also compares the
unit Ansible renders on a host with the shipped one (molecule/default/verify/).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import jinja2
import yaml

ROLE = Path(__file__).resolve().parent
DATA = ROLE.parents[1] / "agent" / "procguard" / "data"
UNITS = {"procguard.service": "procguard agent unit", "procguard-watches.service": "procguard holder unit"}


def _role_variables(env: jinja2.Environment) -> dict:
    """defaults/main.yml and vars/main.yml, with templated values resolved where they only
    name other role variables (the others, like inventory_hostname, stay as they are)."""
    raw = {}
    for name in ("defaults/main.yml", "vars/main.yml"):
        raw.update(yaml.safe_load((ROLE / name).read_text()) or {})
    resolved = dict(raw)

    def resolve(value):
        if isinstance(value, list):
            return [resolve(v) for v in value]
        if isinstance(value, str) and "{{" in value:
            try:
                return env.from_string(value).render(resolved)
            except jinja2.exceptions.TemplateError:
                return value
        return value

    for _ in range(3):  # enough for the role's deepest chain (prefix -> bin)
        resolved.update({key: resolve(value) for key, value in raw.items()})
    return resolved


def render(unit: str = "procguard.service") -> str:
    env = jinja2.Environment(  # noqa: S701 - renders a systemd unit, not HTML
        undefined=jinja2.StrictUndefined, trim_blocks=True, keep_trailing_newline=True)
    variables = _role_variables(env)
    variables["ansible_managed"] = f"{UNITS[unit]}, shipped with the package; do not edit"
    return env.from_string((ROLE / "templates" / f"{unit}.j2").read_text()).render(variables)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when a shipped unit differs")
    args = parser.parse_args()
    stale = 0
    for unit in UNITS:
        text, shipped = render(unit), DATA / unit
        if not args.check:
            shipped.write_text(text)
            print(f"wrote {shipped}")
        elif not shipped.exists() or shipped.read_text() != text:
            print(f"{shipped} is stale: run `make unit`", file=sys.stderr)
            stale = 1
    return stale


if __name__ == "__main__":
    sys.exit(main())
