#!/usr/bin/env python3
"""Render the role's systemd unit template with the role's defaults into the unit the agent
package ships, so the two cannot drift (issue 8): the template is the one source.

    python3 roles/procguard_agent/render_unit.py            # write agent/procguard/data/procguard.service
    python3 roles/procguard_agent/render_unit.py --check    # exit 1 when the shipped unit is stale

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
TEMPLATE = ROLE / "templates" / "procguard.service.j2"
SHIPPED = ROLE.parents[1] / "agent" / "procguard" / "data" / "procguard.service"
HEADER = "procguard agent unit, shipped with the package; do not edit"


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


def render() -> str:
    env = jinja2.Environment(  # noqa: S701 - renders a systemd unit, not HTML
        undefined=jinja2.StrictUndefined, trim_blocks=True, keep_trailing_newline=True)
    variables = _role_variables(env)
    variables["ansible_managed"] = HEADER
    return env.from_string(TEMPLATE.read_text()).render(variables)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when the shipped unit differs")
    args = parser.parse_args()
    text = render()
    if args.check:
        if SHIPPED.read_text() != text:
            print(f"{SHIPPED} is stale: run `make unit`", file=sys.stderr)
            return 1
        return 0
    SHIPPED.write_text(text)
    print(f"wrote {SHIPPED}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
