"""The collection signs exactly as `procguard sign` does, with `cryptography` only, and the
agent accepts what it signs.

Ed25519 is deterministic, so "the same" means byte-identical signature files. The end-to-end
tests run the real ansible-playbook against this host (connection local, files in a temporary
folder) with the procguard package made unimportable, as on an AWX execution environment."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from roles_paths import PLUGINS, collection_root, load_module, run_ansible

pytest.importorskip("ansible")
keys_mod = pytest.importorskip("procguard.signing.keys")
signature = pytest.importorskip("procguard.signing.signature")
from procguard.refusal import Refusal  # noqa: E402
SIGNER = load_module(PLUGINS / "plugin_utils" / "signing.py", "procguard_fleet_signing")

CONFIGS = [b"", b"version: 1\nserial: 1\nscope: ['*']\nwatches: []\n", "name: caf\u00e9 \u2713\n".encode(), bytes(range(256))]


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    folder = tmp_path_factory.mktemp("keys")
    keys_mod.generate(folder, "ops")
    keys_mod.generate(folder, "other")
    return folder


@pytest.mark.parametrize("config", CONFIGS, ids=["empty", "config", "utf8", "all-bytes"])
def test_signature_is_byte_identical_to_procguard_sign(keys, config):
    ours = SIGNER.sign_config((keys / "ops.key").read_bytes(), config)
    assert ours == signature.sign(keys / "ops.key", config)


def test_the_agent_verifies_what_the_collection_signs(keys):
    trust = keys_mod.TrustStore.load(keys)
    config = CONFIGS[1]
    sig = SIGNER.sign_config((keys / "ops.key").read_bytes(), config)
    kid = signature.verify(config, sig, trust)
    assert kid == keys_mod.key_id(keys_mod.load_private_key(keys / "ops.key").public_key())
    with pytest.raises(Refusal, match="does not match the file"):
        signature.verify(config + b"#", sig, trust)


def test_a_key_that_is_not_ed25519_is_refused_with_the_fix(keys):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    with pytest.raises(SIGNER.SigningError, match="not an Ed25519 key; use `procguard keygen`"):
        SIGNER.sign_config(pem, b"x", "ec.key")
    with pytest.raises(SIGNER.SigningError, match=r"junk\.key: not a readable unencrypted PEM private key"):
        SIGNER.sign_config(b"junk", b"x", "junk.key")


def test_without_cryptography_the_message_says_what_is_missing():
    code = textwrap.dedent(f"""
        import importlib.util, sys
        sys.modules["cryptography"] = None  # as on a controller without the package
        spec = importlib.util.spec_from_file_location("s", {str(PLUGINS / "plugin_utils" / "signing.py")!r})
        mod = importlib.util.module_from_spec(spec); spec.loader.exec_module(mod)
        try:
            mod.sign_config(b"", b"")
        except mod.SigningError as exc:
            print(exc)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "needs the Python package `cryptography`" in out
    assert "pip install cryptography" in out


PLAYBOOK = """
- name: Sign and push a watch config on this host
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Push it signed by a vaulted key {{ how }}
      procguard.fleet.signed_config:
        content: "version: 1\\nserial: 3\\nscope: ['*']\\nwatches: []\\n"
        dest: "{{ dest }}"
        signing_key: "{{ key_file | default(omit) }}"
        signing_key_content: "{{ key_var | default(omit) }}"
        mode: "0600"
      register: pushed

    - name: Show what was pushed
      ansible.builtin.debug:
        msg: "sha256={{ pushed.config_sha256 }} key_id={{ pushed.key_id }}"
"""


@pytest.fixture()
def controller(tmp_path, keys):
    """A folder with the playbook, a vault password, the key vaulted as a file and as a
    variable, and a `procguard` package that refuses to be imported."""
    (tmp_path / "pw").write_text("test-vault-password\n")
    (tmp_path / "play.yml").write_text(PLAYBOOK)
    (tmp_path / "hosts").write_text(f"localhost ansible_connection=local ansible_python_interpreter={sys.executable}\n")
    blocker = tmp_path / "no-procguard" / "procguard"
    blocker.mkdir(parents=True)
    (blocker / "__init__.py").write_text("raise ImportError('the controller must sign without the procguard package')\n")
    collections = collection_root(tmp_path)
    vault = ["--vault-password-file", str(tmp_path / "pw")]
    key_copy = tmp_path / "ops.key"
    key_copy.write_bytes((keys / "ops.key").read_bytes())
    enc = run_ansible("ansible-vault", ["encrypt", *vault, str(key_copy)], collections, tmp_path)
    assert enc.returncode == 0, enc.stderr
    var = run_ansible("ansible-vault", ["encrypt_string", *vault, "--stdin-name", "key_var"], collections, tmp_path,
                      stdin=(keys / "ops.key").read_text())
    assert var.returncode == 0, var.stderr
    (tmp_path / "vars.yml").write_text(var.stdout)

    def play(*extra):
        return run_ansible("ansible-playbook", ["-i", "hosts", *vault, "play.yml", *extra], collections, tmp_path,
                           {"PYTHONPATH": str(tmp_path / "no-procguard")})
    return play


@pytest.mark.parametrize("how", ["file", "variable"])
def test_playbook_signs_with_a_vaulted_key_without_procguard_and_check_accepts_it(controller, tmp_path, keys, how):
    dest = tmp_path / "out" / "watches.yaml"
    dest.parent.mkdir()
    source = ["-e", f"key_file={tmp_path / 'ops.key'}"] if how == "file" else ["-e", "@vars.yml"]
    first = controller("-e", f"dest={dest}", "-e", f"how={how}", *source)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "changed=1" in first.stdout
    assert (dest.parent / "watches.yaml.sig").read_bytes() == signature.sign(keys / "ops.key", dest.read_bytes())
    (tmp_path / "revoked.txt").write_text("")  # an empty list revokes nothing; a missing one fails closed
    check = subprocess.run([sys.executable, "-m", "procguard.cli.main", "check", "--trusted-keys", str(keys),
                            "--revoked", str(tmp_path / "revoked.txt"), "--host", "anyhost", str(dest)],
                           capture_output=True, text=True, check=False)
    assert check.returncode == 0, check.stderr
    assert "signature verified" in check.stdout
    again = controller("-e", f"dest={dest}", "-e", f"how={how}", *source)
    assert again.returncode == 0 and "changed=0" in again.stdout, again.stdout


def test_two_keys_or_none_is_a_clear_error(controller, tmp_path):
    both = controller("-e", f"dest={tmp_path / 'w.yaml'}", "-e", "how=both", "-e", f"key_file={tmp_path / 'ops.key'}",
                      "-e", "@vars.yml")
    assert both.returncode != 0
    assert "give exactly one of signing_key" in both.stdout
