# Observability outputs, generated from the agent's metric families and message catalog:
# the log watcher rules, the Zabbix template and the journald catalog (procguard_syslog),
# the Prometheus alert rules and the Grafana dashboard (procguard_metrics), promtool's unit
# tests of the rules and the tables of docs/observability.md. Included by the top Makefile.
#   make observability          regenerate them (commit the result)
#   make observability-check    exit 1 when one is stale
# `make test` runs tests/observability/ (in pytest): drift, promtool, a real Prometheus.

OBS_CATALOG = $(VENV)/bin/procguard messages --json

.PHONY: observability observability-check

observability: venv
	$(OBS_CATALOG) | $(PY) roles/procguard_syslog/generate_ops_templates.py
	$(PY) roles/procguard_metrics/generate_metrics_templates.py

observability-check: venv
	$(OBS_CATALOG) | $(PY) roles/procguard_syslog/generate_ops_templates.py --check
	$(PY) roles/procguard_metrics/generate_metrics_templates.py --check

# tests/observability/test_journald_container.py runs the agent under systemd in the bookworm
# image: the engine and that image first (both idempotent; the image is built once and cached).
.PHONY: observability-image
observability-image:
	scripts/containers/engine.sh
	scripts/containers/image.sh bookworm

pytest: observability-image
