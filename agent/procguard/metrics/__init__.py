"""Metrics for Prometheus: one list of families, an in-memory registry, two ways out.

    families.py    every metric (name, kind, help, labels, buckets): the one list
    registry.py    the values, a flat array per scope; snapshots for the readers
    recorder.py    what the engine calls, one method per fact (died, restarted, ...)
    exposition.py  Prometheus text 0.0.4 and OpenMetrics 1.0, written by hand
    textfile.py    atomic files for node_exporter's textfile collector (the default)
    server.py      optional GET /metrics on loopback, one bounded thread
    selfstats.py   the agent's RSS and open descriptors from /proc/self

Only the standard library; nothing here blocks the caller: readers render from a copy in
their own threads. docs/observability.md lists the metrics and how to wire them.
"""
