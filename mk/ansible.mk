# Ansible roles: lint, test containers, Molecule. Included by the top Makefile, which
# defines VENV, PY and the `venv` target (agent editable + requirements-dev.txt).

ANSIBLE_STAMP     := $(VENV)/.ansible-requirements.stamp
ANSIBLE_PATHS     := roles playbooks inventories molecule
MOLECULE_SUITES   ?= bullseye bookworm trixie
# Scenarios run once, on the first suite, after `default` ran on every suite.
MOLECULE_EXTRA_SCENARIOS ?= rollout
ANSIBLE_VENV_BIN   = $(abspath $(VENV))/bin
ANSIBLE_ENV        = PATH="$(ANSIBLE_VENV_BIN):$$PATH" \
                     ANSIBLE_COLLECTIONS_PATH="$$(scripts/containers/collections.sh $(PY))"

.PHONY: ansible-venv ansible-lint containers molecule-test ops-templates

$(ANSIBLE_STAMP): requirements-ansible.txt | venv
	$(PY) -m pip install --quiet -r requirements-ansible.txt
	@touch $@

ansible-venv: $(ANSIBLE_STAMP)

ansible-lint: $(ANSIBLE_STAMP)
	$(ANSIBLE_VENV_BIN)/yamllint --strict $(ANSIBLE_PATHS) .yamllint .ansible-lint
	$(ANSIBLE_ENV) $(ANSIBLE_VENV_BIN)/ansible-lint --profile production --strict $(ANSIBLE_PATHS)

# Engine up (no bridge, no iptables) and one systemd image per suite, built once and cached.
containers:
	scripts/containers/engine.sh
	@for suite in $(MOLECULE_SUITES); do scripts/containers/image.sh $$suite || exit 1; done

molecule-test: $(ANSIBLE_STAMP) containers
	@for suite in $(MOLECULE_SUITES); do \
	    echo "== molecule test on $$suite"; \
	    $(ANSIBLE_ENV) PROCGUARD_SUITE=$$suite $(ANSIBLE_VENV_BIN)/molecule test -s default || exit 1; \
	done
	@for scenario in $(MOLECULE_EXTRA_SCENARIOS); do \
	    echo "== molecule test -s $$scenario on $(firstword $(MOLECULE_SUITES))"; \
	    $(ANSIBLE_ENV) PROCGUARD_SUITE=$(firstword $(MOLECULE_SUITES)) $(ANSIBLE_VENV_BIN)/molecule test -s $$scenario || exit 1; \
	done

# Regenerate the operations templates from the agent's message catalog.
ops-templates: $(ANSIBLE_STAMP)
	$(ANSIBLE_VENV_BIN)/procguard messages --json | $(PY) roles/procguard_syslog/generate_ops_templates.py

TEST_TARGETS += ansible-lint molecule-test

# tests/roles/ imports the role plugins, which need ansible-core in the venv.
pytest: $(ANSIBLE_STAMP)
