# The fleet lab (issue 14): three scenarios, five contenders, real HAProxy/keepalived in
# network namespaces the lab creates. Included by the top Makefile.
#   make lab            every episode for every contender; writes docs/lab/ (under 15 min)
#   make lab-short      procguard only, the three checks of tests/lab (make test runs it last)
#   make lab-cleanup    remove what an interrupted run left (processes, namespaces, container)
LAB_ARGS ?=

.PHONY: lab lab-short lab-cleanup lab-short-clean

# The short form counts requests delayed over 0.5 s, so in `make test` it runs alone, last,
# once the background soak is over (mk/reliability.mk), not beside the other tests.
TEST_TARGETS_LAST += lab-short

# a report of an earlier run must not count for this one
lab-short-clean:
	@rm -f .test-results/lab-short.xml

pytest: lab-short-clean

lab: setup venv
	scripts/lab-setup.sh
	cd benchmarks && ../$(PY) -m lab run $(LAB_ARGS)

lab-short: venv
	$(PY) -m pytest -q -p no:cacheprovider --timeout=300 --junitxml=.test-results/lab-short.xml tests/lab

lab-cleanup:
	cd benchmarks && /usr/bin/python3 -m lab cleanup
