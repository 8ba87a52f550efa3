"""The fleet lab (issue 14): real HAProxy, keepalived and services in network namespaces
the lab creates, real faults under real traffic, measured for procguard, systemd,
supervisord, monit and no supervisor. `python -m lab --help` (from benchmarks/)."""
