"""The collection installs from its tarball, and ansible-doc shows every plugin and role.

Builds the tarball with the real ansible-galaxy, installs it offline into a fresh
collections path, and asks ansible-doc and ansible-playbook about the installed copy only
(no link to this source tree)."""

from __future__ import annotations

import tarfile

import pytest
import yaml

from roles_paths import PLUGINS, REPO, ROLE_NAMES, run_ansible

pytest.importorskip("ansible")

FILTERS = sorted(p.stem for p in (PLUGINS / "filter").glob("*.yml"))
MODULES = sorted(p.stem for p in (PLUGINS / "modules").glob("*.py"))
PLAYBOOKS = sorted(p.stem for p in (REPO / "playbooks").glob("*.yml"))


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    work = tmp_path_factory.mktemp("collection")
    empty = work / "no-collections"
    empty.mkdir()
    build = run_ansible("ansible-galaxy", ["collection", "build", "--output-path", str(work), str(REPO)], empty, work)
    assert build.returncode == 0, build.stderr
    version = yaml.safe_load((REPO / "galaxy.yml").read_text())["version"]
    tarball = work / f"procguard-fleet-{version}.tar.gz"
    root = work / "collections"
    install = run_ansible("ansible-galaxy", ["collection", "install", "--offline", "-p", str(root), str(tarball)], empty, work)
    assert install.returncode == 0, install.stdout + install.stderr
    return tarball, root, work


def test_tarball_holds_the_collection_and_nothing_of_the_project(installed):
    tarball, _, _ = installed
    with tarfile.open(tarball) as tar:
        names = set(tar.getnames())
    for wanted in ("MANIFEST.json", "LICENSE", "CHANGELOG.md", "meta/runtime.yml",
                   "plugins/action/signed_config.py", "roles/procguard_agent/templates/procguard.service.j2",
                   "playbooks/site.yml", "playbooks/rollout.yml", "docs/ansible.md"):
        assert wanted in names, wanted
    for unwanted in ("agent", "tests", "molecule", "benchmarks", "scripts", "inventories", ".config", "build"):
        assert not any(n == unwanted or n.startswith(unwanted + "/") for n in names), unwanted
    helpers = [n for n in names if n.startswith("roles/") and n.count("/") == 2 and n.endswith(".py")]
    assert helpers == [], "the roles' generator scripts are tools of this repository, not of the collection"


@pytest.mark.parametrize("kind, name", [("module", m) for m in MODULES] + [("filter", f) for f in FILTERS]
                         + [("role", r) for r in ROLE_NAMES])
def test_ansible_doc_shows_it_from_the_installed_collection(installed, kind, name):
    _, root, work = installed
    doc = run_ansible("ansible-doc", ["-t", kind, f"procguard.fleet.{name}"], root, work)
    assert doc.returncode == 0, doc.stderr
    assert f"procguard.fleet.{name}" in doc.stdout
    assert str(root) in doc.stdout or kind == "role", "documented from the installed copy"


@pytest.mark.parametrize("playbook", PLAYBOOKS)
def test_collection_playbooks_run_by_name(installed, playbook):
    _, root, work = installed
    check = run_ansible("ansible-playbook", ["--syntax-check", f"procguard.fleet.{playbook}"], root, work)
    assert check.returncode == 0, check.stdout + check.stderr
