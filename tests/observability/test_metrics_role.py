"""The procguard_metrics role, applied for real to this machine, with every path in a temporary folder.

Molecule's containers belong to another test suite; this role only creates a folder and
copies two files, so a local connection proves it: check mode changes nothing, a run
installs what was asked (the rules through Debian's promtool), a second run changes nothing.
"""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
FILES = REPO / "roles" / "procguard_metrics" / "files"
PLAYBOOK = """\
- name: Apply procguard_metrics
  hosts: localhost
  connection: local
  gather_facts: false
  roles:
    - role: procguard_metrics
"""


def run_role(tmp_path: Path, extra: dict, *flags: str) -> subprocess.CompletedProcess:
    playbook = Path(sys.executable).parent / "ansible-playbook"
    if not playbook.exists():
        pytest.fail("ansible-playbook is missing from the venv: make ansible-venv")
    (tmp_path / "play.yml").write_text(PLAYBOOK)
    (tmp_path / "vars.json").write_text(json.dumps({"ansible_python_interpreter": sys.executable, **extra}))
    env = {**os.environ, "ANSIBLE_ROLES_PATH": str(REPO / "roles"), "ANSIBLE_LOCAL_TEMP": str(tmp_path / "tmp"),
           "ANSIBLE_NOCOLOR": "1", "ANSIBLE_RETRY_FILES_ENABLED": "0", "PATH": f"{playbook.parent}:{os.environ['PATH']}"}
    return subprocess.run([str(playbook), "-i", "localhost,", str(tmp_path / "play.yml"), "-e", f"@{tmp_path / 'vars.json'}",
                           *flags], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)


def changed(result: subprocess.CompletedProcess) -> int:
    assert result.returncode == 0, result.stdout + result.stderr
    return int(re.search(r"localhost\s+:.*changed=(\d+)", result.stdout).group(1))


def test_check_run_and_rerun(tmp_path):
    wanted = {
        "procguard_metrics_textfile_dir": str(tmp_path / "node-exporter"),
        "procguard_metrics_rules_dest": str(tmp_path / "prometheus" / "rules.d" / "procguard.yml"),
        "procguard_metrics_dashboard_dest": str(tmp_path / "grafana" / "procguard.json"),
    }
    assert changed(run_role(tmp_path, wanted, "--check")) > 0
    assert not (tmp_path / "node-exporter").exists(), "check mode changed nothing"

    assert changed(run_role(tmp_path, wanted)) > 0
    textfile = tmp_path / "node-exporter"
    assert stat.S_IMODE(textfile.stat().st_mode) == 0o755
    rules = Path(wanted["procguard_metrics_rules_dest"])
    assert rules.read_bytes() == (FILES / "procguard-alerts.rules.yml").read_bytes()
    assert stat.S_IMODE(rules.stat().st_mode) == 0o644
    assert Path(wanted["procguard_metrics_dashboard_dest"]).read_bytes() == (FILES / "procguard-dashboard.json").read_bytes()

    assert changed(run_role(tmp_path, wanted)) == 0, "idempotent"


def test_a_relative_path_is_refused_with_the_names_of_the_variables(tmp_path):
    result = run_role(tmp_path, {"procguard_metrics_textfile_dir": "node-exporter"})
    assert result.returncode != 0
    assert "procguard_metrics_textfile_dir" in result.stdout and "absolute" in result.stdout
