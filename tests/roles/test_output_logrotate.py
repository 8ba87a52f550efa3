"""The agent role's logrotate rules for services' file output: the template, rendered with
the role's defaults, is a file the real logrotate accepts, with the directives the agent's
reopen-on-rename relies on (docs/trees.md, "Output")."""

from __future__ import annotations

import re

from helpers import logrotate_rules


def test_rendered_rules_pass_logrotate_debug(tmp_path):
    config = tmp_path / "procguard-output"
    config.write_text(logrotate_rules.render("/var/lib/procguard/logs"))
    result = logrotate_rules.run(str(config), str(tmp_path / "state"), "--debug")
    assert result.returncode == 0, result.stderr
    assert "rotating pattern: /var/lib/procguard/logs/*.log  weekly (4 rotations)" in result.stderr
    assert "olddir is rotated" in result.stderr


def test_rules_leave_new_files_and_renames_to_the_agent(tmp_path):
    directives = {line.strip() for line in logrotate_rules.render(str(tmp_path)).splitlines()}
    # the agent recreates NAME.log; copytruncate would lose lines, a late compress the tail
    assert {"nocreate", "delaycompress", "missingok", "olddir rotated"} <= directives
    assert not any(re.match(r"(copytruncate|postrotate|create\b)", d) for d in directives)
