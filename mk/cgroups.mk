# Process trees under systemd: tests/systemd/test_cgroups_under_systemd.py boots a systemd
# container from the project's Debian test image (network none, named pgcg-*), so the
# images must exist before pytest runs. `containers` is cached: it builds nothing twice.
pytest: containers

# Death to replacement with a cgroup per watch against process groups, side by side
# (issue 11: at most 1.5 times). Part of `make bench`.
.PHONY: bench-cgroups
bench-cgroups: venv
	$(PY) benchmarks/cgroups_latency.py

bench: bench-cgroups
