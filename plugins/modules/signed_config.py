# Copyright: procguard developers
# Apache License 2.0 (see LICENSE)
# Documentation only: the work is done on the controller by plugins/action/signed_config.py,
# which hands the signed files to ansible.builtin.copy.

from __future__ import annotations

DOCUMENTATION = r"""
---
module: signed_config
short_description: Sign a procguard watch config on the controller and push it with its signature
version_added: 0.1.0
description:
  - Signs O(content) on the controller with an Ed25519 private key, in the procguard agent's
    detached-signature format, then copies the config to O(dest) and the signature to
    C(DEST.sig) with M(ansible.builtin.copy).
  - Signing needs only the Python package C(cryptography) on the controller (ansible-core
    execution environments have it); the procguard package and command are not needed.
    Without C(cryptography) the task fails and says so.
  - Ed25519 signatures are deterministic, so an unchanged config gives an unchanged signature
    and the task reports no change.
  - The private key never leaves the controller. It may be a vault-encrypted file
    (O(signing_key)) or a vaulted variable (O(signing_key_content)); either is decrypted in
    memory or in a private temporary file that is removed right after signing.
  - With O(validate_command), the config lands only if the command accepts it together with
    its new signature, and the signature lands only if it verifies against the config then in
    place. A refused file fails the task and leaves the host's files as they were.
  - Keys on a separate signing host or a hardware token are not supported yet;
    O(sign_command) runs a local command that behaves like C(procguard sign) instead.
author:
  - procguard developers
options:
  content:
    description: The config text to sign and push, byte for byte.
    type: str
    required: true
  dest:
    description: Path of the config on the host; the signature goes to C(DEST.sig).
    type: path
    required: true
  signing_key:
    description:
      - Path of the Ed25519 private key (PEM, from C(procguard keygen)) on the controller.
      - May be encrypted with ansible-vault. Relative paths are looked up like C(src) of M(ansible.builtin.copy).
      - Exactly one of O(signing_key) and O(signing_key_content) is required.
    type: path
  signing_key_content:
    description:
      - The Ed25519 private key itself, as PEM text; typically a vaulted variable.
      - Exactly one of O(signing_key) and O(signing_key_content) is required.
    type: str
  sign_command:
    description:
      - Sign with this command instead of the built-in signer, as an argv list. It is run on the
        controller as C(ARGV sign --key KEY CONFIG) and must write C(CONFIG.sig), as C(procguard sign) does.
      - Needs O(signing_key).
    type: list
    elements: str
  validate_command:
    description:
      - A command on the host that checks a config with its signature, called as
        C(COMMAND --config FILE --sig-b64 DATA ARGS) for the config and
        C(COMMAND --config DEST --sig FILE ARGS) for the signature.
      - The procguard_agent role installs one as C(PREFIX/bin/procguard-validate)
        (C(procguard check) with the trusted keys, the revocation list and the state folder).
    type: str
  check_args:
    description: More arguments for O(validate_command), such as C([--host, web01]).
    type: list
    elements: str
    default: []
  owner:
    description: Owner of both files, as in M(ansible.builtin.copy).
    type: str
  group:
    description: Group of both files, as in M(ansible.builtin.copy).
    type: str
  mode:
    description: Mode of both files, as in M(ansible.builtin.copy); quote it, for example V("0600").
    type: raw
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.files
attributes:
  action:
    support: full
  async:
    support: none
  bypass_host_loop:
    support: none
  check_mode:
    support: full
  diff_mode:
    support: full
  platform:
    platforms: posix
  safe_file_operations:
    support: full
  vault:
    support: full
notes:
  - The signature format is documented in the procguard repository, docs/security.md.
seealso:
  - module: ansible.builtin.copy
"""

EXAMPLES = r"""
- name: Push the signed watch config
  procguard.fleet.signed_config:
    content: "{{ watches_document | to_nice_yaml }}"
    dest: /etc/procguard/watches.yaml
    signing_key: "{{ inventory_dir }}/files/keys/ops-2026.key"   # ansible-vault encrypted
    validate_command: /opt/procguard/bin/procguard-validate
    check_args: [--host, "{{ inventory_hostname }}"]
    owner: root
    group: root
    mode: "0600"

- name: Sign with a key kept in a vaulted variable
  procguard.fleet.signed_config:
    content: "{{ rendered }}"
    dest: /etc/procguard/watches.yaml
    signing_key_content: "{{ vault_procguard_signing_key }}"
    mode: "0600"
"""

RETURN = r"""
dest:
  description: Path of the config on the host.
  returned: success
  type: str
  sample: /etc/procguard/watches.yaml
config_changed:
  description: Whether the config file changed.
  returned: success
  type: bool
signature_changed:
  description: Whether the signature file changed.
  returned: success
  type: bool
checksum:
  description: SHA-1 of the config, as M(ansible.builtin.copy) returns it.
  returned: success
  type: str
config_sha256:
  description: SHA-256 of the config bytes; the agent reports the same in C(procguard status --json).
  returned: success
  type: str
  sample: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
key_id:
  description: Id of the signing key (16 hex digits).
  returned: success
  type: str
  sample: a1b2c3d4e5f6a7b8
"""
