"""A host that cannot run a role stops at the role's first task with one clear message that
names the override, in every role (issue 13, item 4).

Runs the real ansible-playbook against this machine (connection local). The host is made
"unsupported" by telling the role it supports only another OS family, so nothing on this
machine is changed: the roles stop before their first change."""

from __future__ import annotations

import sys

import pytest

from roles_paths import collection_root, run_ansible

pytest.importorskip("ansible")

PLAY = """
- name: Run one role on a host it does not support
  hosts: localhost
  gather_facts: false
  roles:
    - role: procguard.fleet.{role}
      vars: {vars}
"""

CASES = {
    "procguard_agent": ({"procguard_agent_supported_os_families": ["Solaris"], "procguard_agent_wheel": "none.whl"},
                        "procguard_agent is tested on the Solaris family only, and this host is",
                        "set procguard_agent_allow_untested_platform: true"),
    "procguard_syslog": ({"procguard_syslog_supported_os_families": ["Solaris"]},
                         "procguard_syslog is tested on the Solaris family only, and this host is",
                         "set procguard_syslog_allow_untested_platform: true"),
    "procguard_metrics": ({"procguard_metrics_supported_os_families": ["Solaris"]},
                          "procguard_metrics is tested on the Solaris family only, and this host is",
                          "set procguard_metrics_allow_untested_platform: true"),
    "procguard_watches": ({"procguard_watches_serial": 5, "procguard_watches_signing_key": "k.key",
                           "procguard_watches_agent_prefix": "/nonexistent/procguard"},
                          "procguard_watches pushes configs to the procguard agent, and localhost has none",
                          "run the procguard.fleet.procguard_agent role first"),
}


@pytest.mark.parametrize("role", sorted(CASES))
def test_unsupported_host_stops_with_one_message(tmp_path, role):
    role_vars, reason, fix = CASES[role]
    (tmp_path / "play.yml").write_text(PLAY.format(role=role, vars=role_vars))
    (tmp_path / "hosts").write_text(f"localhost ansible_connection=local ansible_python_interpreter={sys.executable}\n")
    run = run_ansible("ansible-playbook", ["-i", "hosts", "play.yml"], collection_root(tmp_path), tmp_path)
    out = run.stdout
    assert run.returncode == 2, out + run.stderr
    failures = [line for line in out.splitlines() if line.startswith("fatal:")]
    assert len(failures) == 1, out
    assert reason in out and fix in out, out
    assert "changed=0" in out and "failed=1" in out
