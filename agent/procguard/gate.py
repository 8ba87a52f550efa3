"""The one way a config gets in force: read it, check it, admit it, remember it.

Order matters: file safety first (a world-writable file is never even parsed), then the
YAML and schema, then the signature, serial, scope and expiry. At agent start a refused
file does not leave the host unprotected: the last good config from the state directory
is admitted again (it passes the same checks) and applied instead.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from typing import Any, Dict, NoReturn, Optional

from .config.loader import ConfigError, parse
from .config.model import Config
from .events import catalog
from .events.emitter import Emitter
from .settings import Settings
from .signing import refusal_event
from .signing.errors import Refusal
from .signing.filesafety import check_inputs
from .signing.isolated import Verdict, admit_isolated
from .signing.state import LastGood, StateError


SIGNATURE_CODES = ("bad_signature", "unknown_key", "revoked_key", "unsigned", "malformed_signature")


class Refused(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class Admitted:
    config: Config
    admission: Verdict
    config_bytes: bytes
    sig_bytes: Optional[bytes]


class ConfigGate:
    def __init__(self, settings: Settings, emitter: Emitter) -> None:
        self.settings = settings
        self.emitter = emitter
        self._last_trust_report: Any = None
        if settings.allow_unsigned:
            emitter.emit(catalog.get("unsigned_mode"))

    def admit_file(self, path: str, initial: bool) -> Admitted:
        """Admit the file at `path`, or, at start, the last good config; else raise Refused."""
        try:
            return self._admit_path(path)
        except Refused:
            if not initial:
                raise
            restored = self._restore_last_good()
            if restored is None:
                raise
            return restored

    def admit_bytes(self, path: str, data: bytes, sig: Optional[bytes], source: str = "file",
                    save: bool = True) -> Admitted:
        last = self._last_good()
        try:
            config, doc = parse(data.decode("utf-8", "replace"), path)
        except ConfigError as exc:
            if sig or not self.settings.allow_unsigned:
                self._judge(path, data, sig, {}, None, source, signature_only=True)  # tampering beats syntax
            self._report_problems(path, exc)
        admission = self._judge(path, data, sig, doc, last.last_serial if last else None, source)
        if save and last is not None:
            try:
                last.save(data, sig, admission.serial, admission.key_id)
            except OSError as exc:
                self.emitter.emit(catalog.get("state_unreadable"), file=str(last.path), problem=str(exc))
        if not admission.signed:
            self.emitter.emit(catalog.get("unsigned_config_applied"), config=path, serial=admission.serial)
        return Admitted(config, admission, data, sig)

    def _admit_path(self, path: str) -> Admitted:
        sig_path = path + ".sig"
        if not self.settings.allow_unsigned:
            try:
                check_inputs(path, sig_path, self.settings.trusted_keys, self.settings.revoked)
            except Refusal as refusal:
                self._log_refusal(refusal, "file")
                raise Refused(refusal.code, str(refusal)) from None
        try:
            with open(path, "rb") as handle:
                data = handle.read()
        except OSError as exc:
            self._invalid(path, f"{path}:1: cannot read: {exc.strerror}; check the path")
        sig: Optional[bytes] = None
        if os.path.exists(sig_path):
            with open(sig_path, "rb") as handle:
                sig = handle.read()
        return self.admit_bytes(path, data, sig)

    def _judge(self, path: str, data: bytes, sig: Optional[bytes], doc: Dict[str, Any],
               last_serial: Optional[int], source: str, signature_only: bool = False) -> Verdict:
        """Signature, serial, scope and expiry, checked in a child process (signing/isolated.py)."""
        s = self.settings
        try:
            verdict = admit_isolated(path, data, sig, doc, s.trusted_keys, s.revoked, s.host_name, s.host_groups,
                                     last_serial, s.allow_unsigned and not signature_only, path + ".sig")
        except Refusal as refusal:
            if signature_only and refusal.code not in SIGNATURE_CODES:
                return Verdict(None, None, False, [], [], 0)  # only the signature was in question
            self._log_refusal(refusal, source)
            raise Refused(refusal.code, str(refusal)) from None
        except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
            self._invalid(path, f"{path}: the signature check could not run: {exc}")
        self._report_trust(verdict)
        return verdict

    def _report_trust(self, verdict: Verdict) -> None:
        key = (tuple(verdict.trust_problems), tuple(verdict.revoked), verdict.trusted)
        if key == self._last_trust_report:
            return  # say it once, not at every reload
        self._last_trust_report = key
        for problem in verdict.trust_problems:
            self.emitter.emit(catalog.get("trusted_key_problem"), problem=problem)
        for key_id in verdict.revoked:
            self.emitter.emit(catalog.get("trusted_key_revoked"), key_id=key_id)
        if verdict.trusted == 0 and not self.settings.allow_unsigned:
            self.emitter.emit(catalog.get("no_trusted_keys"), dir=self.settings.trusted_keys)

    def _report_problems(self, path: str, exc: ConfigError) -> None:
        for problem in exc.problems:
            self.emitter.emit(catalog.get("config_problem"), config=problem.file, line=problem.line,
                              key=problem.key or "-", problem=problem.message)
        self._invalid(path, "; ".join(str(p) for p in exc.problems), len(exc.problems))

    def _invalid(self, path: str, message: str, count: int = 1) -> NoReturn:
        self.emitter.emit(catalog.get("config_refused"), config=path, reason=message.split("; ")[0],
                          problems=count)
        raise Refused("invalid", message)

    def _last_good(self) -> Optional[LastGood]:
        try:
            return LastGood.load(self.settings.state_dir)
        except StateError as exc:
            self.emitter.emit(catalog.get("state_unreadable"), file=self.settings.state_dir, problem=str(exc))
            return None

    def _restore_last_good(self) -> Optional[Admitted]:
        last = self._last_good()
        if last is None or last.config_bytes is None:
            return None
        try:
            admitted = self.admit_bytes(self.settings.config, last.config_bytes, last.sig_bytes,
                                        source="state", save=False)
        except Refused:
            return None
        self.emitter.emit(catalog.get("last_good_restored"), config=self.settings.config,
                          serial=last.serial, key_id=last.key_id, saved_at=last.saved_at)
        return admitted

    def _log_refusal(self, refusal: Refusal, source: str) -> None:
        message, fields = refusal_event(refusal, source)
        self.emitter.emit(message, **fields)
