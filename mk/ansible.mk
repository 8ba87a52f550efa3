# Ansible: the collection procguard.fleet (the repository's top level, galaxy.yml), its lint,
# its tarball, and Molecule against the installed tarball. Included by the top Makefile,
# which defines VENV, PY and the `venv` target (agent editable + requirements-dev.txt).

ANSIBLE_STAMP        := $(VENV)/.ansible-requirements.stamp
ANSIBLE_PATHS        := roles playbooks inventories molecule meta galaxy.yml
ANSIBLE_VENV_BIN      = $(abspath $(VENV))/bin
COLLECTION_VERSION   := $(shell sed -n 's/^version: *//p' galaxy.yml)
COLLECTION_TARBALL   := build/collection/procguard-fleet-$(COLLECTION_VERSION).tar.gz
# A fresh collections path per test run: only the tarball installed, never the source tree.
MOLECULE_COLLECTIONS := $(abspath build/molecule-collections)
WHEEL_DIR            := $(abspath build/wheels)
MOLECULE_SUITES      := bullseye bookworm trixie
DOCKER_COLLECTIONS    = $$(scripts/containers/collections.sh $(PY))
# Molecule calls ansible-config through PATH: the venv's bin goes first.
ANSIBLE_PATH_ENV      = PATH="$(ANSIBLE_VENV_BIN):$$PATH"

.PHONY: ansible-venv ansible-lint agent-wheel collection collection-tarball collection-sanity containers molecule-test \
        ops-templates unit

$(ANSIBLE_STAMP): requirements-ansible.txt | venv
	$(PY) -m pip install --quiet -r requirements-ansible.txt
	@touch $@

ansible-venv: $(ANSIBLE_STAMP)

# ansible-lint resolves procguard.fleet.* in the source tree, through a link in the venv.
LINT_COLLECTIONS      = $(abspath $(VENV))/lint-collections
ansible-lint: $(ANSIBLE_STAMP)
	$(ANSIBLE_VENV_BIN)/yamllint --strict $(ANSIBLE_PATHS) .config/molecule plugins .yamllint .ansible-lint
	@mkdir -p $(LINT_COLLECTIONS)/ansible_collections/procguard
	@ln -sfn $(CURDIR) $(LINT_COLLECTIONS)/ansible_collections/procguard/fleet
	$(ANSIBLE_PATH_ENV) ANSIBLE_COLLECTIONS_PATH="$(LINT_COLLECTIONS):$(DOCKER_COLLECTIONS)" \
	    $(ANSIBLE_VENV_BIN)/ansible-lint --profile production --strict $(ANSIBLE_PATHS) plugins
	$(ANSIBLE_VENV_BIN)/ruff check plugins roles/procguard_agent/render_unit.py molecule/default/files/make-test-pki \
	    molecule/default/files/syslog-collector
	$(PY) roles/procguard_agent/render_unit.py --check

# The wheel the hosts receive, built once per run; a setuptools deprecation warning fails it.
agent-wheel: venv
	@rm -rf $(WHEEL_DIR) && mkdir -p $(WHEEL_DIR)
	$(PY) -m build --wheel --outdir $(WHEEL_DIR) agent > $(WHEEL_DIR)/build.log 2>&1 || { tail -n 30 $(WHEEL_DIR)/build.log; exit 1; }
	@if grep -i -n 'deprecat' $(WHEEL_DIR)/build.log; then echo "agent-wheel: setuptools warns (above); fix agent/pyproject.toml" >&2; exit 1; fi

collection-tarball: $(ANSIBLE_STAMP)
	$(ANSIBLE_VENV_BIN)/ansible-galaxy collection build --force --output-path build/collection .

# For runs from this checkout (ansible.cfg looks in .collections first): the built tarball,
# installed as an operator would. Re-run after editing roles/, playbooks/ or plugins/.
collection: collection-tarball
	rm -rf .collections
	$(ANSIBLE_VENV_BIN)/ansible-galaxy collection install --offline --force -p .collections $(COLLECTION_TARBALL)

# ansible-test sanity on the installed tarball, with the tests that run offline. The others
# (ansible-doc, import, pep8, pylint, runtime-metadata, validate-modules, yamllint) build
# venvs with a pip bootstrap script fetched from outside the package registries: not here.
# Outside the work tree: in it, git ignores build/ and ansible-test would see no files.
SANITY_ROOT          := $(or $(TMPDIR),/tmp)/procguard-fleet-sanity
SANITY_OFFLINE_TESTS := action-plugin-docs changelog compile empty-init ignores line-endings no-assert \
                        no-get-exception no-illegal-filenames no-smart-quotes pslint replace-urlopen shebang \
                        shellcheck symlinks use-argspec-type-path use-compat-six
collection-sanity: collection-tarball
	rm -rf $(SANITY_ROOT)
	$(ANSIBLE_VENV_BIN)/ansible-galaxy collection install --offline --force -p $(SANITY_ROOT) $(COLLECTION_TARBALL)
	cd $(SANITY_ROOT)/ansible_collections/procguard/fleet && $(ANSIBLE_VENV_BIN)/ansible-test sanity \
	    --python $$($(ANSIBLE_VENV_BIN)/python -c 'import sys; print("%d.%d" % sys.version_info[:2])') $(addprefix --test ,$(SANITY_OFFLINE_TESTS))

# Engine up (no bridge, no iptables) and one systemd image per suite, built once and cached.
containers:
	scripts/containers/engine.sh
	@for suite in $(MOLECULE_SUITES); do scripts/containers/image.sh $$suite || exit 1; done

# molecule/default: a fleet of one container per suite (Debian 11, 12, 13), converged with
# procguard.fleet.site from the tarball installed into a fresh collections path.
molecule-test: $(ANSIBLE_STAMP) containers agent-wheel collection-tarball
	rm -rf $(MOLECULE_COLLECTIONS)
	$(ANSIBLE_VENV_BIN)/ansible-galaxy collection install --offline --force -p $(MOLECULE_COLLECTIONS) $(COLLECTION_TARBALL)
	$(ANSIBLE_PATH_ENV) ANSIBLE_COLLECTIONS_PATH="$(MOLECULE_COLLECTIONS):$(DOCKER_COLLECTIONS)" \
	    PROCGUARD_WHEEL_DIR=$(WHEEL_DIR) $(ANSIBLE_VENV_BIN)/molecule test -s default

# Regenerate the operations templates from the agent's message catalog.
ops-templates: $(ANSIBLE_STAMP)
	$(ANSIBLE_VENV_BIN)/procguard messages --json | $(PY) roles/procguard_syslog/generate_ops_templates.py

# The agent package's systemd unit, rendered from the role's template (one source).
unit: venv
	$(PY) roles/procguard_agent/render_unit.py

TEST_TARGETS += ansible-lint collection-sanity molecule-test

# tests/roles/ imports the collection's plugins, which need ansible-core in the venv.
pytest: $(ANSIBLE_STAMP)
