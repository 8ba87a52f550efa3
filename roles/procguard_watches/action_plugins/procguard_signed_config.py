"""Sign a watch config on the controller, then hand config and signature to `copy`.

    - procguard_signed_config:
        content: "{{ rendered_yaml }}"
        dest: /etc/procguard/watches.yaml          # the signature goes to DEST.sig
        signing_key: files/keys/ops.key             # on the controller; may be vault-encrypted
        validate_command: /opt/procguard/bin/procguard-validate
        check_args: [--host, web01]
        owner: root
        group: root
        mode: "0600"

Signing happens here, on the controller, with the agent's own code (procguard.signing when
importable in the controller's Python, else the `procguard sign` command; the agent's format,
Ed25519, deterministic: the same config and key give the same bytes, so a re-run changes
nothing). The private key never leaves the controller. Both files then go through the
`copy` action, so check mode, diff, owner/mode and `validate:` come from it:
  1. the config lands only if `procguard check` accepts it together with its new signature
     (the signature travels in the validate command, base64);
  2. the signature lands only if it verifies against the config now in place.
A refused file fails the task and leaves the host as it was.
"""

from __future__ import annotations

import base64
import os
import shlex
import shutil
import subprocess
import sys
import tempfile

from ansible import constants as C
from ansible.errors import AnsibleActionFail
from ansible.module_utils.common.text.converters import to_bytes, to_text
from ansible.plugins.action import ActionBase

_COPY_OPTIONS = ("owner", "group", "mode", "seuser", "serole", "setype", "selevel", "unsafe_writes")


def _sign_command(configured):
    if configured:
        return list(configured)
    sibling = os.path.join(os.path.dirname(sys.executable), "procguard")
    if os.access(sibling, os.X_OK):
        return [sibling]
    found = shutil.which("procguard")
    if found:
        return [found]
    raise AnsibleActionFail(
        "cannot find the `procguard` command on the controller to sign with: install the agent "
        "package in the controller's Python (pip install -e agent/) or set sign_command"
    )


class ActionModule(ActionBase):
    TRANSFERS_FILES = True
    _VALID_ARGS = frozenset(
        ("content", "dest", "signing_key", "validate_command", "check_args", "sign_command")
        + _COPY_OPTIONS
    )

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp
        args = self._task.args
        try:
            content = args.get("content")
            dest = args.get("dest")
            key = args.get("signing_key")
            if content is None or not dest or not key:
                raise AnsibleActionFail("content, dest and signing_key are required")
            key_path = self._loader.get_real_file(self._loader.path_dwim(key), decrypt=True)
            check_args = [str(a) for a in (args.get("check_args") or [])]
            validate_command = args.get("validate_command")

            local_tmp = tempfile.mkdtemp(dir=C.DEFAULT_LOCAL_TMP)
            try:
                config_path = os.path.join(local_tmp, os.path.basename(dest))
                with open(config_path, "wb") as f:
                    f.write(to_bytes(content, errors="surrogate_or_strict"))
                os.chmod(config_path, 0o600)
                self._sign(args.get("sign_command"), key_path, config_path)
                sig_path = config_path + ".sig"
                with open(sig_path, "rb") as f:
                    signature = f.read()

                extra = " ".join(shlex.quote(a) for a in check_args)
                config_validate = sig_validate = None
                if validate_command:
                    b64 = base64.b64encode(signature).decode("ascii")
                    config_validate = f"{validate_command} --config %s --sig-b64 {b64} {extra}".strip()
                    sig_validate = (
                        f"{validate_command} --config {shlex.quote(dest)} --sig %s {extra}".strip()
                    )

                config_result = self._copy(task_vars, config_path, dest, config_validate)
                if config_result.get("failed"):
                    config_result["msg"] = self._refusal_message("config", dest, config_result)
                    return config_result
                sig_result = self._copy(task_vars, sig_path, dest + ".sig", sig_validate)
                if sig_result.get("failed"):
                    sig_result["msg"] = self._refusal_message("signature", dest + ".sig", sig_result)
                    return sig_result
            finally:
                shutil.rmtree(local_tmp, ignore_errors=True)
                self._loader.cleanup_tmp_file(key_path)

            result.update(
                changed=bool(config_result.get("changed") or sig_result.get("changed")),
                dest=dest,
                config_changed=bool(config_result.get("changed")),
                signature_changed=bool(sig_result.get("changed")),
                checksum=config_result.get("checksum"),
            )
            diffs = []
            for one in (config_result.get("diff"), sig_result.get("diff")):
                if isinstance(one, list):
                    diffs.extend(one)
                elif one:
                    diffs.append(one)
            if diffs:
                result["diff"] = diffs
            return result
        finally:
            self._remove_tmp_path(self._connection._shell.tmpdir)

    def _sign(self, configured, key_path, config_path):
        """Write CONFIG.sig: with procguard.signing in this Python when it is importable (the
        agent package is installed in the controller venv), else with `procguard sign`."""
        if not configured:
            try:
                from procguard.signing import sign  # pylint: disable=import-outside-toplevel
            except ImportError:
                sign = None
            if sign is not None:
                with open(config_path, "rb") as f:
                    data = f.read()
                try:
                    signature = sign(key_path, data)
                except (OSError, ValueError) as exc:
                    raise AnsibleActionFail(f"signing on the controller failed: {exc}") from exc
                with open(config_path + ".sig", "wb") as f:
                    f.write(signature)
                return
        argv = _sign_command(configured) + ["sign", "--key", key_path, config_path]
        proc = subprocess.run(argv, capture_output=True, text=True, check=False)
        if proc.returncode != 0 or not os.path.exists(config_path + ".sig"):
            raise AnsibleActionFail(
                "signing on the controller failed: {cmd} exited {rc}: {err}".format(
                    cmd=" ".join(shlex.quote(a) for a in argv[:-1]), rc=proc.returncode,
                    err=(proc.stderr or proc.stdout).strip(),
                )
            )

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

    @staticmethod
    def _refusal_message(what, path, res):
        detail = "\n".join(
            part.strip() for part in (to_text(res.get("stdout", "")), to_text(res.get("stderr", ""))) if part.strip()
        )
        base = res.get("msg", "copy failed")
        if detail:
            return f"{what} {path} not changed: {base}: {detail}"
        return f"{what} {path} not changed: {base}"
