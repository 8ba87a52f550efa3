"""The operations templates in procguard_syslog are generated from the agent's catalog."""

from __future__ import annotations

import re

import pytest
import yaml

from roles_paths import ROLES, load_module

GEN = load_module(ROLES / "procguard_syslog" / "generate_ops_templates.py", "generate_ops_templates")
OPS = ROLES / "procguard_syslog" / "files" / "ops"


@pytest.fixture(scope="module")
def catalog():
    render = pytest.importorskip("procguard.events.render")
    import json

    return json.loads(render.as_json())


def test_committed_templates_match_the_catalog(catalog):
    for name, text in GEN.render(catalog).items():
        assert (OPS / name).read_text() == text, f"{name} is stale: make ops-templates"


def test_role_ships_every_generated_file():
    shipped = yaml.safe_load((ROLES / "procguard_syslog" / "vars" / "main.yml").read_text())
    assert sorted(shipped["_procguard_syslog_ops_files"]) == sorted(GEN.render([]).keys())


def test_each_rule_matches_a_rendered_line(catalog):
    from procguard.events.catalog import BY_ID

    rules = [l.split("\t") for l in (OPS / "procguard-rules.tsv").read_text().splitlines() if not l.startswith("#")]
    assert len(rules) == len(catalog)
    for mid, _name, _sev, regex in rules:
        msg = BY_ID[mid]
        line = "2026-11-26T10:00:00+00:00 web01 procguard[42]: " + msg.render(
            {field: "x y" for field in msg.fields}
        )
        match = re.search(regex, line)
        assert match, (mid, line)
        others = [r for r in rules if r[0] != mid and re.search(r[3], line)]
        assert others == [], f"{mid} line also matches {others}"


def test_zabbix_template_is_valid_yaml_with_unique_uuids(catalog):
    doc = yaml.safe_load((OPS / "zabbix_template_procguard.yaml").read_text())
    template = doc["zabbix_export"]["templates"][0]
    uuids = [template["uuid"]] + [i["uuid"] for i in template["items"]]
    uuids += [t["uuid"] for i in template["items"] for t in i["triggers"]]
    assert len(uuids) == len(set(uuids))
    assert all(re.fullmatch(r"[0-9a-f]{12}4[0-9a-f]{3}[89ab][0-9a-f]{15}", u) for u in uuids)
    serious = [m["id"] for m in catalog if m["severity"] in GEN.PRIORITY]
    assert [i["tags"][1]["value"] for i in template["items"]] == serious


def test_generation_is_deterministic(catalog):
    assert GEN.render(catalog) == GEN.render(list(reversed(catalog)))
