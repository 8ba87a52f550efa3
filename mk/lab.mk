# The fleet lab (issue 14): three scenarios, five contenders, real HAProxy/keepalived in
# network namespaces the lab creates. Included by the top Makefile.
#   make lab            every episode for every contender; writes docs/lab/ (under 15 min)
#   make lab-short      procguard only, the three checks of tests/lab (also part of make test)
#   make lab-cleanup    remove what an interrupted run left (processes, namespaces, container)
LAB_ARGS ?=

.PHONY: lab lab-short lab-cleanup

lab: setup venv
	scripts/lab-setup.sh
	cd benchmarks && ../$(PY) -m lab run $(LAB_ARGS)

lab-short: venv
	$(PY) -m pytest -q -p no:cacheprovider --timeout=300 --junitxml=.test-results/lab-short.xml tests/lab

lab-cleanup:
	cd benchmarks && /usr/bin/python3 -m lab cleanup
