"""The one way a config gets in force: read it, check it, admit it, remember it.

Order matters: file safety first (a world-writable file is never even parsed), then the
YAML and schema, then the signature, serial, scope and expiry. At agent start a refused
file does not leave the host unprotected: the last good config from the state directory
is admitted again (it passes the same checks) and applied instead.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import NoReturn, Optional

from .config.loader import ConfigError, parse
from .config.model import Config
from .events import catalog
from .events.emitter import Emitter
from .settings import Settings
from .signing import (Admission, HostIdentity, LastGood, Refusal, StateError, TrustStore,
                      admit, check_inputs, refusal_event, verify)


class Refused(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class Admitted:
    config: Config
    admission: Admission
    config_bytes: bytes
    sig_bytes: Optional[bytes]


class ConfigGate:
    def __init__(self, settings: Settings, emitter: Emitter) -> None:
        self.settings = settings
        self.emitter = emitter
        if settings.allow_unsigned:
            emitter.emit(catalog.get("unsigned_mode"))

    @property
    def host(self) -> HostIdentity:
        return HostIdentity(self.settings.host_name, self.settings.host_groups)

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
        trust = TrustStore.load(self.settings.trusted_keys, self.settings.revoked)
        try:
            config, doc = parse(data.decode("utf-8", "replace"), path)
        except ConfigError as exc:
            if sig or not self.settings.allow_unsigned:
                self._verify_first(path, data, sig, trust, source)  # tampering beats syntax
            self._report_problems(path, exc)
        try:
            admission = admit(path, data, sig, doc, trust, self.host,
                              last.last_serial if last else None,
                              datetime.now(timezone.utc), self.settings.allow_unsigned,
                              sig_path=path + ".sig")
        except Refusal as refusal:
            self._log_refusal(refusal, source)
            raise Refused(refusal.code, str(refusal)) from None
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

    def _verify_first(self, path: str, data: bytes, sig: Optional[bytes], trust: TrustStore,
                      source: str) -> None:
        try:
            verify(data, sig, trust, config_path=path, sig_path=path + ".sig")
        except Refusal as refusal:
            self._log_refusal(refusal, source)
            raise Refused(refusal.code, str(refusal)) from None

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
