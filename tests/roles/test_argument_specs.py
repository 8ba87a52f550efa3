"""Every default is documented in meta/argument_specs.yml, with the same value, and in the README."""

from __future__ import annotations

import pytest
import yaml

from roles_paths import ROLE_NAMES, ROLES


def _load(role: str):
    defaults = yaml.safe_load((ROLES / role / "defaults" / "main.yml").read_text()) or {}
    specs = yaml.safe_load((ROLES / role / "meta" / "argument_specs.yml").read_text())
    return defaults, specs["argument_specs"]["main"]["options"]


def test_the_four_roles_are_checked():
    assert ROLE_NAMES == ["procguard_agent", "procguard_metrics", "procguard_syslog", "procguard_watches"]


@pytest.mark.parametrize("role", ROLE_NAMES)
def test_specs_and_defaults_name_the_same_variables(role):
    defaults, options = _load(role)
    assert sorted(set(defaults) - set(options)) == [], "defaults without argument_specs"
    assert sorted(set(options) - set(defaults)) == [], "argument_specs without defaults"


@pytest.mark.parametrize("role", ROLE_NAMES)
def test_spec_defaults_equal_the_defaults(role):
    defaults, options = _load(role)
    for name, option in options.items():
        if "default" in option:
            assert option["default"] == defaults[name], name


@pytest.mark.parametrize("role", ROLE_NAMES)
def test_every_option_has_a_type_and_a_description(role):
    _, options = _load(role)
    for name, option in options.items():
        assert option.get("type"), name
        assert option.get("description"), name


@pytest.mark.parametrize("role", ROLE_NAMES)
def test_variables_are_prefixed_with_the_role_name(role):
    defaults, _ = _load(role)
    for name in defaults:
        assert name.startswith(role + "_"), name


@pytest.mark.parametrize("role", ROLE_NAMES)
def test_readme_lists_every_variable(role):
    defaults, _ = _load(role)
    readme = (ROLES / role / "README.md").read_text()
    missing = [name for name in defaults if f"`{name}`" not in readme]
    assert missing == []
