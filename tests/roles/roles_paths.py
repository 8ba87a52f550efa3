"""Paths and plugin loading for the role and collection tests (a plain module: tests/conftest.py
is the agent's)."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
ROLES = REPO / "roles"
PLUGINS = REPO / "plugins"
ROLE_NAMES = sorted(p.name for p in ROLES.iterdir() if (p / "defaults" / "main.yml").exists())
ANSIBLE_BIN = Path(sys.executable).parent


def load_module(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module


def load_filter(name: str):
    """A filter plugin file of the collection, loaded by path (filters import only ansible)."""
    return load_module(PLUGINS / "filter" / f"{name}.py", f"procguard_fleet_filter_{name}")


def collection_root(tmp_path: Path) -> Path:
    """A collections folder where procguard.fleet is this source tree (a symlink), for runs
    of the real ansible-playbook and ansible-doc against the source."""
    root = tmp_path / "collections"
    (root / "ansible_collections" / "procguard").mkdir(parents=True)
    (root / "ansible_collections" / "procguard" / "fleet").symlink_to(REPO)
    return root


def run_ansible(tool: str, args, collections: Path, cwd: Path, extra_env=None, stdin=None) -> subprocess.CompletedProcess:
    """Run an Ansible command line tool of this venv with only our collection on its path
    (and an empty ansible.cfg in cwd, so the project's own config plays no part)."""
    (cwd / "ansible.cfg").touch()
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(collections), ANSIBLE_CONFIG=str(cwd / "ansible.cfg"),
               ANSIBLE_LOCAL_TEMP=str(cwd / "ansible-tmp"), ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0",
               ANSIBLE_HOME=str(cwd / "ansible-home"))
    env.update(extra_env or {})
    return subprocess.run([str(ANSIBLE_BIN / tool), *args], cwd=cwd, env=env, capture_output=True, input=stdin,
                          text=True, timeout=300, check=False)
