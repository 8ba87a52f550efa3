"""The message catalog and the JSON Schema exist once, in code; the docs are generated and
must match. Log watchers match on IDs and texts, so both must be unique and well formed."""

from __future__ import annotations

import os
import sys
import re

import pytest

from procguard.config import schema
from procguard.config.loader import problems_in
from procguard.events import catalog, render

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
REGEN = "run `make docs` and commit the result"


def read(*parts: str) -> str:
    with open(os.path.join(REPO, *parts)) as handle:
        return handle.read()


def test_docs_messages_md_is_generated_from_the_catalog():
    assert read("docs", "messages.md") == render.markdown(), REGEN


def test_schema_json_in_package_and_docs_match_the_code():
    generated = schema.as_json()
    assert read("agent", "procguard", "config", "schema.json") == generated, REGEN
    assert read("docs", "watches.schema.json") == generated, REGEN


def test_ids_texts_and_names_are_unique_and_well_formed():
    ids = [m.id for m in catalog.ALL]
    assert len(ids) == len(set(ids))
    assert len({m.text for m in catalog.ALL}) == len(ids), "two messages with one text confuse log watchers"
    for m in catalog.ALL:
        assert re.fullmatch(r"PG[1-7]\d{3}", m.id), m.id
        assert m.severity in ("emerg", "alert", "crit", "err", "warning", "notice", "info", "debug")
        assert m.explanation, f"{m.id} needs an explanation for docs/messages.md"
        assert "=" not in m.text and "\n" not in m.text


def test_rendered_line_quotes_values_with_spaces():
    line = catalog.get("process_started").render({"watch": "web", "pid": 7, "attempt": 1, "argv": "/bin/sleep 5"})
    assert line == 'PG1004 process started watch=web pid=7 attempt=1 argv="/bin/sleep 5"'


@pytest.fixture(scope="module")
def jsonschema_validator():
    jsonschema = pytest.importorskip("jsonschema", reason="dev dependency from requirements-dev.txt")
    jsonschema.Draft202012Validator.check_schema(schema.build())
    return jsonschema.Draft202012Validator(schema.build())


EXAMPLES = [
    ("version: 1\nwatches: [{name: a, start: {argv: [/bin/sleep, '1']}}]\n", True),
    ("version: 1\nwatches: [{name: a, match: {comm: nginx}, instances: {min: 1, max: 4}}]\n", True),
    ("version: 1\nwatches: [{name: a, match: {comm: nginx}, stop: {timeout: 10 seconds}}]\n", False),
    ("version: 1\nwatches: [{name: a, match: {comm: nginx}, bogus: 1}]\n", False),
    ("version: 2\nwatches: []\n", False),
    ("version: 1\nwatches: [{name: A, match: {comm: x}}]\n", False),
    ("version: 1\nwatches: [{name: a, match: {comm: x}, restart: {max_restarts: -1}}]\n", False),
]


@pytest.mark.parametrize("text,valid", EXAMPLES)
def test_our_validator_agrees_with_jsonschema(jsonschema_validator, text, valid):
    import yaml

    doc = yaml.safe_load(text)
    assert jsonschema_validator.is_valid(doc) is valid
    problems, _ = problems_in(text, "x.yaml")
    assert (not problems) is valid, problems


def test_the_demo_config_shipped_with_the_package_is_valid():
    """The one example shipped in the package (make demo fills in its placeholders)."""
    text = read("agent", "procguard", "data", "demo.yaml.in")
    for key, value in (("@PYTHON@", sys.executable), ("@PORT@", "8080"), ("@HOST@", "h"), ("@SERIAL@", "1")):
        text = text.replace(key, value)
    assert "@" not in text
    problems, _ = problems_in(text, "demo.yaml")
    assert problems == [], problems


def test_status_table_shows_probes_and_escalations_in_force():
    from procguard.cli.control_cmd import render_table

    reply = {"agent": {"version": "0", "host": "h", "pid": 1, "detector": "pidfd", "last_refusal": None,
                       "config": {"serial": 3, "signed": True, "key_id": "ab"}},
             "watches": [{"name": "web", "state": "gave_up", "healthy": False, "pids": [],
                          "instances": {"min": 1, "max": 1, "current": 0}, "restarts": 5, "last_exit": "exit:1",
                          "probes": [{"name": "http", "type": "http", "state": "stalled",
                                      "last": {"ok": False, "reason": "timeout", "duration_ms": 2000.0}}],
                          "escalations": [{"action": "pacemaker-0", "type": "pacemaker", "state": "in_force"}]}]}
    text = render_table(reply)
    assert "web    gave_up  FAIL" in text and "escalated" in text
    assert "web: probe http (http) stalled, last failed in 2000.0 ms (timeout)" in text
    assert "web: escalation pacemaker-0 in_force" in text
