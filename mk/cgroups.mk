# Process trees under systemd: tests/systemd/test_cgroups_under_systemd.py boots a systemd
# container from the project's Debian test image (network none, named pgcg-*), so the
# images must exist before pytest runs. `containers` is cached: it builds nothing twice.
pytest: containers
