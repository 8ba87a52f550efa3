# The reliability suite (tests/reliability): fuzzing, agent kills at random moments, forced
# PID reuse, and a churn soak. Included by the top Makefile.
#
# `make test`: the fuzz, kill and PID-reuse tests run inside `pytest` (PROCGUARD_PROFILE=ci:
# about 6,000 examples, 200 kills); the 5-minute soak starts first, in the background, and is
# collected last, so it overlaps lint, pytest and Molecule instead of adding to CI's time.
# `make soak`: 100,000 examples, 1,000 kills and a one-hour soak (not in CI).
#   make soak SOAK_SECONDS=600          a shorter soak
#   scripts/background-job.sh stop .test-results/soak-job   stop a soak left running

SOAK_CI_SECONDS ?= 300
SOAK_SECONDS    ?= 3600
SOAK_JOB        := .test-results/soak-job
SOAK_PYTEST      = $(PY) -m pytest -q -p no:cacheprovider -s --timeout=0 --junitxml=.test-results/soak.xml tests/reliability/soak

.PHONY: soak soak-ci-start soak-ci-wait reliability-clean

# figures of an earlier run must not pass for this one's
reliability-clean:
	@rm -f .test-results/reliability-fuzz.json .test-results/reliability-faults.json

pytest: reliability-clean

soak-ci-start: venv
	@rm -f .test-results/soak.xml .test-results/reliability-soak.json
	@scripts/background-job.sh start $(SOAK_JOB) -- env PROCGUARD_SOAK_SECONDS=$(SOAK_CI_SECONDS) $(SOAK_PYTEST)

soak-ci-wait:
	@scripts/background-job.sh wait $(SOAK_JOB) $$(( $(SOAK_CI_SECONDS) + 900 ))

TEST_TARGETS := soak-ci-start $(TEST_TARGETS) soak-ci-wait $(TEST_TARGETS_LAST)

soak: venv reliability-clean
	@rm -f .test-results/soak.xml .test-results/reliability-soak.json
	@scripts/background-job.sh start $(SOAK_JOB) -- env PROCGUARD_SOAK_SECONDS=$(SOAK_SECONDS) $(SOAK_PYTEST)
	@PROCGUARD_PROFILE=soak $(PY) -m pytest -q -p no:cacheprovider --timeout=14400 tests/reliability; rc=$$?; \
	    scripts/background-job.sh wait $(SOAK_JOB) $$(( $(SOAK_SECONDS) + 1800 )) || rc=1; \
	    $(PY) scripts/test-summary.py --reliability-only; exit $$rc
