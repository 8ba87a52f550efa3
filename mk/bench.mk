# Benchmarks against the peers: procguard, supervisord and monit on one workload, in one run.
# Included by the top Makefile. Never part of TEST_TARGETS: benchmarks don't run in `make test`.
#   make bench-all                       N=1,100,500, 20 kills each, 60 s idle (a few minutes)
#   make bench-all BENCH_ARGS=--quick    N=1,100, 5 kills, 5 s idle
# Peers: monit from apt-get, supervisor into .bench-venv/ (scripts/bench-setup.sh).
# Results: benchmarks/results/all.json and a Markdown table on stdout.

BENCH_ARGS ?=

.PHONY: bench-setup bench-all

bench-setup:
	scripts/bench-setup.sh

bench-all: bench-setup
	/usr/bin/python3 benchmarks/run_all.py $(BENCH_ARGS)
