# Copyright: procguard developers
# Apache License 2.0 (see LICENSE)
"""procguard.fleet.signed_config: sign a watch config on the controller, then hand config and
signature to `copy`, so check mode, diff, owner/mode and `validate:` come from it.

Documentation: plugins/modules/signed_config.py (`ansible-doc procguard.fleet.signed_config`).
The private key is read on the controller only (a vault-encrypted file or variable is
decrypted in memory) and never reaches a host. Order of landing:
  1. the config lands only if the validate command accepts it together with its new
     signature (the signature travels in the command line, base64);
  2. the signature lands only if it verifies against the config now in place.
A refused file fails the task and leaves the host as it was.
"""

from __future__ import annotations

import base64
import hashlib
import os
import shlex
import shutil
import subprocess
import tempfile

from ansible import constants as C
from ansible.errors import AnsibleActionFail
from ansible.module_utils.common.text.converters import to_bytes, to_text
from ansible.plugins.action import ActionBase
from ansible_collections.procguard.fleet.plugins.plugin_utils.signing import SigningError, sign_config

_COPY_OPTIONS = ("owner", "group", "mode", "seuser", "serole", "setype", "selevel", "unsafe_writes", "attributes")
_OWN_OPTIONS = ("content", "dest", "signing_key", "signing_key_content", "validate_command", "check_args",
                "sign_command")


class ActionModule(ActionBase):
    TRANSFERS_FILES = True
    _VALID_ARGS = frozenset(_OWN_OPTIONS + _COPY_OPTIONS)

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp
        try:
            args = self._task.args
            content, dest = args.get("content"), args.get("dest")
            if content is None or not dest:
                raise AnsibleActionFail("procguard.fleet.signed_config: content and dest are required")
            config = to_bytes(content, errors="surrogate_or_strict")
            signature = self._signature(args, config)
            config_result, sig_result = self._push(task_vars, args, dest, config, signature)
            if config_result.get("failed"):
                return config_result
            if sig_result.get("failed"):
                return sig_result
            result.update(
                changed=bool(config_result.get("changed") or sig_result.get("changed")),
                dest=dest,
                config_changed=bool(config_result.get("changed")),
                signature_changed=bool(sig_result.get("changed")),
                checksum=config_result.get("checksum"),
                config_sha256=hashlib.sha256(config).hexdigest(),
                key_id=_key_id(signature),
            )
            diffs = [d for one in (config_result.get("diff"), sig_result.get("diff")) if one
                     for d in (one if isinstance(one, list) else [one])]
            if diffs:
                result["diff"] = diffs
            return result
        finally:
            self._remove_tmp_path(self._connection._shell.tmpdir)

    def _signature(self, args, config):
        """Signature bytes: from a key variable, a key file, or an external signing command."""
        key_content, key_file = args.get("signing_key_content"), args.get("signing_key")
        if bool(key_content) == bool(key_file):
            raise AnsibleActionFail(
                "procguard.fleet.signed_config: give exactly one of signing_key (a file on the controller, "
                "may be vault-encrypted) and signing_key_content (PEM text, e.g. a vaulted variable)"
            )
        if key_content:
            return self._sign(to_bytes(key_content, errors="surrogate_or_strict"), config, "signing_key_content")
        try:
            key_path = self._loader.get_real_file(self._loader.path_dwim(key_file), decrypt=True)
        except Exception as exc:  # the loader raises several kinds; each means the key cannot be read
            raise AnsibleActionFail(f"procguard.fleet.signed_config: cannot read signing_key {key_file}: {exc}")
        try:
            if args.get("sign_command"):
                return _run_sign_command(list(args["sign_command"]), key_path, config)
            with open(key_path, "rb") as handle:
                return self._sign(handle.read(), config, key_file)
        finally:
            self._loader.cleanup_tmp_file(key_path)

    @staticmethod
    def _sign(key_pem, config, source):
        try:
            return sign_config(key_pem, config, source)
        except SigningError as exc:
            raise AnsibleActionFail(f"procguard.fleet.signed_config: {exc}")

    def _push(self, task_vars, args, dest, config, signature):
        """Copy config then signature, each through its validate command."""
        validate_command = args.get("validate_command")
        extra = " ".join(shlex.quote(str(a)) for a in (args.get("check_args") or []))
        config_validate = sig_validate = None
        if validate_command:
            b64 = base64.b64encode(signature).decode("ascii")
            config_validate = f"{validate_command} --config %s --sig-b64 {b64} {extra}".strip()
            sig_validate = f"{validate_command} --config {shlex.quote(dest)} --sig %s {extra}".strip()
        local_tmp = tempfile.mkdtemp(dir=C.DEFAULT_LOCAL_TMP)
        try:
            config_path = _write_private(local_tmp, os.path.basename(dest), config)
            sig_path = _write_private(local_tmp, os.path.basename(dest) + ".sig", signature)
            config_result = self._copy(task_vars, config_path, dest, config_validate)
            if config_result.get("failed"):
                config_result["msg"] = _refusal_message("config", dest, config_result)
                return config_result, {}
            sig_result = self._copy(task_vars, sig_path, dest + ".sig", sig_validate)
            if sig_result.get("failed"):
                sig_result["msg"] = _refusal_message("signature", dest + ".sig", sig_result)
            return config_result, sig_result
        finally:
            shutil.rmtree(local_tmp, ignore_errors=True)

    def _copy(self, task_vars, src, dest, validate):
        new_task = self._task.copy()
        new_args = {k: v for k, v in self._task.args.items() if k in _COPY_OPTIONS}
        new_args.update(src=src, dest=dest)
        if validate:
            new_args["validate"] = validate
        new_task.args = new_args
        copy_action = self._shared_loader_obj.action_loader.get(
            "ansible.legacy.copy",
            task=new_task,
            connection=self._connection,
            play_context=self._play_context,
            loader=self._loader,
            templar=self._templar,
            shared_loader_obj=self._shared_loader_obj,
        )
        return copy_action.run(task_vars=task_vars)


def _write_private(folder, name, data):
    path = os.path.join(folder, name)
    with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as handle:
        handle.write(data)
    return path


def _run_sign_command(argv, key_path, config):
    """`ARGV sign --key KEY CONFIG` must write CONFIG.sig, as `procguard sign` does."""
    folder = tempfile.mkdtemp(dir=C.DEFAULT_LOCAL_TMP)
    try:
        config_path = _write_private(folder, "watches.yaml", config)
        command = argv + ["sign", "--key", key_path, config_path]
        try:
            proc = subprocess.run(command, capture_output=True, text=True, check=False)
        except OSError as exc:
            raise AnsibleActionFail(f"procguard.fleet.signed_config: sign_command {argv[0]} cannot run: {exc}")
        if proc.returncode != 0 or not os.path.exists(config_path + ".sig"):
            raise AnsibleActionFail(
                "procguard.fleet.signed_config: sign_command {cmd} exited {rc} without writing CONFIG.sig: {err}".format(
                    cmd=" ".join(shlex.quote(a) for a in argv), rc=proc.returncode,
                    err=(proc.stderr or proc.stdout).strip(),
                )
            )
        with open(config_path + ".sig", "rb") as handle:
            return handle.read()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _key_id(signature):
    lines = to_text(signature, errors="surrogate_or_replace").splitlines()
    return lines[1].partition(" ")[2] if len(lines) > 1 else None


def _refusal_message(what, path, res):
    detail = "\n".join(
        part.strip() for part in (to_text(res.get("stdout", "")), to_text(res.get("stderr", ""))) if part.strip()
    )
    base = res.get("msg", "copy failed")
    return f"{what} {path} not changed: {base}: {detail}" if detail else f"{what} {path} not changed: {base}"
