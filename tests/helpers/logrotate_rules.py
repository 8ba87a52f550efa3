"""The agent role's logrotate rules for services' file output, rendered from the role's own
template (defaults/main.yml, with overrides) so the tests rotate with what hosts get."""

from __future__ import annotations

import os
import subprocess
from typing import Any

import jinja2
import yaml

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ROLE = os.path.join(REPO, "roles", "procguard_agent")
TEMPLATE = os.path.join(ROLE, "templates", "procguard-output.logrotate.j2")


def render(log_dir: str, **overrides: Any) -> str:
    """The rules for `log_dir/*.log`; overrides are the role's variables without their prefix
    (rotate=50 for procguard_agent_output_logrotate_rotate)."""
    with open(os.path.join(ROLE, "defaults", "main.yml")) as handle:
        variables = yaml.safe_load(handle)
    variables.update({f"procguard_agent_output_logrotate_{key}": value for key, value in overrides.items()})
    variables.update(_procguard_agent_output_log_dir=log_dir, ansible_managed="rendered by the tests")
    env = jinja2.Environment(  # a logrotate file, not HTML: no autoescape
        undefined=jinja2.StrictUndefined, trim_blocks=True, keep_trailing_newline=True)
    with open(TEMPLATE) as handle:
        return env.from_string(handle.read()).render(variables)


def run(config: str, state: str, *flags: str) -> subprocess.CompletedProcess[str]:
    """The real logrotate (Debian's package) on one config file with its own state file."""
    return subprocess.run(["logrotate", *flags, "-s", state, config], capture_output=True, text=True, timeout=60)
