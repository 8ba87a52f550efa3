"""The one way a config gets in force: read it, check it, admit it, remember it.

Order matters: file safety first (a world-writable file is never even parsed), then, in a
child process (judge.py), the YAML and schema, the signature, serial, scope and expiry. At
agent start a refused file does not leave the host unprotected: the last good config from
the state directory is judged again (it passes the same checks) and applied instead.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from typing import Any, NoReturn, Optional

from .config.model import Config, build_config
from .events import catalog
from .events.emitter import Emitter
from .judge import Judgement, judge
from .settings import Settings
from .signing import refusal_event
from .signing.errors import Refusal
from .signing.filesafety import check_inputs
from .signing.state import LastGood, StateError


class Refused(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class Admitted:
    config: Config
    admission: Judgement
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
        s = self.settings
        try:
            verdict = judge(path, data, sig, s.trusted_keys, s.revoked, s.host_name, s.host_groups,
                            last.last_serial if last else None, s.allow_unsigned)
        except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
            self._invalid(path, f"{path}: could not be checked: {exc}")
        self._report_trust(verdict)
        if verdict.refusal is not None:
            refusal = Refusal(verdict.refusal["code"], verdict.refusal["message"], verdict.refusal["fields"])
            self._log_refusal(refusal, source)
            raise Refused(refusal.code, str(refusal))
        if verdict.problems or verdict.doc is None:
            for p in verdict.problems:
                self.emitter.emit(catalog.get("config_problem"), config=p["file"], line=p["line"],
                                  key=p["key"] or "-", problem=p["message"])
            lines = [f"{p['file']}:{p['line']}: {p['key'] + ': ' if p['key'] else ''}{p['message']}"
                     for p in verdict.problems]
            self._invalid(path, "; ".join(lines) or f"{path}: invalid", len(lines))
        config = build_config(path, verdict.doc)
        verdict.doc = None  # the typed Config is what runs; the raw tree would only take memory
        if save and last is not None:
            try:
                last.save(data, sig, verdict.serial, verdict.key_id)
            except OSError as exc:
                self.emitter.emit(catalog.get("state_unreadable"), file=str(last.path), problem=str(exc))
        if not verdict.signed:
            self.emitter.emit(catalog.get("unsigned_config_applied"), config=path, serial=verdict.serial)
        return Admitted(config, verdict, data, sig)

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

    def _report_trust(self, verdict: Judgement) -> None:
        key = (tuple(verdict.trust_problems), tuple(verdict.revoked), verdict.trusted)
        if key == self._last_trust_report:
            return  # say it once, not at every reload
        self._last_trust_report = key
        if self.settings.allow_unsigned and not verdict.signed:
            return  # no keys in a local trial is expected
        for problem in verdict.trust_problems:
            self.emitter.emit(catalog.get("trusted_key_problem"), problem=problem)
        for key_id in verdict.revoked:
            self.emitter.emit(catalog.get("trusted_key_revoked"), key_id=key_id)
        if verdict.trusted == 0:
            self.emitter.emit(catalog.get("no_trusted_keys"), dir=self.settings.trusted_keys)

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
