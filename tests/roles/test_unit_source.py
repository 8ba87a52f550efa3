"""One systemd unit (issue 8): the unit the agent package ships is the role's template
rendered with the role's defaults, so hand and Ansible installs run the same unit."""

from __future__ import annotations

import configparser

from roles_paths import ROLES, load_module

RENDER = load_module(ROLES / "procguard_agent" / "render_unit.py", "procguard_render_unit")


def test_shipped_units_are_the_rendered_role_templates():
    for unit in ("procguard.service", "procguard-watches.service"):
        assert (RENDER.DATA / unit).read_text() == RENDER.render(unit), f"{unit} stale: run `make unit`"


def test_the_holder_unit_keeps_the_watches_out_of_the_agents_unit_and_is_never_stopped_by_hand():
    agent = configparser.ConfigParser(strict=False, interpolation=None)
    agent.read_string(RENDER.render())
    assert "procguard-watches.service" in agent["Unit"]["Wants"].split()
    assert "procguard-watches.service" in agent["Unit"]["After"].split()
    holder = configparser.ConfigParser(strict=False, interpolation=None)
    holder.read_string(RENDER.render("procguard-watches.service"))
    assert holder["Unit"]["RefuseManualStop"] == "yes"
    assert (holder["Service"]["Delegate"], holder["Service"]["KillMode"]) == ("yes", "control-group")


def _service(text: str) -> configparser.SectionProxy:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(text)
    return parser["Service"]


def test_rendered_unit_runs_the_agent_with_its_own_default_paths():
    service = _service(RENDER.render())
    assert service["ExecStart"] == "/opt/procguard/venv/bin/procguard agent --quiet"
    assert service["Environment"] == "PROCGUARD_SOCKET=/run/procguard/control.sock"


def test_settings_chosen_when_the_two_units_drifted():
    service = _service(RENDER.render())
    assert service["RestartSec"] == "2s" and service["TimeoutStopSec"] == "15s"
    assert service["RuntimeDirectoryMode"] == "0750"
    assert (service["StateDirectory"], service["StateDirectoryMode"]) == ("procguard", "0700")
    for inherited in ("UMask", "ProtectHostname", "KeyringMode"):
        assert inherited not in service, f"{inherited} is left out on purpose (see the template's comment)"
