"""The terms a config must meet to be applied: not replayed, for this host, not expired.

Checked by the one decision (decide.py) for every config, whichever way it came in, and
only after the signature over the raw bytes has verified.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any, Dict, Optional, Sequence, Tuple

from .. import refusal as errors
from ..refusal import Refusal


@dataclass(frozen=True)
class HostIdentity:
    """Who this agent is, from its own (unsigned) settings: host_name and host_groups."""

    name: str
    groups: Tuple[str, ...] = ()

    def __init__(self, name: str, groups: Sequence[str] = ()) -> None:
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "groups", tuple(groups))


@dataclass(frozen=True)
class Admission:
    """A config that may be applied: who signed it (None when unsigned) and its serial."""

    key_id: Optional[str]
    serial: Optional[int]
    signed: bool


def admit_terms(
    config_path: str,
    doc: Dict[str, Any],
    *,
    signed: bool,
    key_id: Optional[str],
    host: Optional[HostIdentity],
    last_serial: Optional[int],
    now: datetime,
    allow_expired: bool = False,
) -> Admission:
    """Return an Admission, or raise Refusal naming the reason.

    Call it only after the signature over the raw bytes has verified (`signed`), or when
    unsigned configs are allowed: then serial, scope and not_after are still enforced when
    present. Without `host`, the scope is checked for form but not matched.
    """
    serial, scope = check_terms(config_path, doc, signed=signed, last_serial=last_serial,
                                now=now, key_id=key_id, allow_expired=allow_expired)
    if host is not None and scope is not None and not in_scope(host, scope):
        groups = ",".join(host.groups) or "none"
        raise Refusal(
            errors.OUT_OF_SCOPE,
            f"{config_path}: host {host.name} (groups: {groups}) is not in the config's scope "
            f"{list(scope)}; add the host, a pattern or @group to scope and re-sign",
            {"config": config_path, "host": host.name, "scope": ",".join(scope),
             "key_id": key_id},
        )
    return Admission(key_id=key_id, serial=serial, signed=signed)


def check_terms(
    config_path: str,
    doc: Dict[str, Any],
    *,
    signed: bool,
    last_serial: Optional[int],
    now: datetime,
    key_id: Optional[str] = None,
    allow_expired: bool = False,
) -> Tuple[Optional[int], Optional[Tuple[str, ...]]]:
    """Serial (present, not rolled back), scope (present), not_after (valid, not passed).

    Returns (serial, scope). Serial and scope are required when `signed`; otherwise they
    are checked only if present. Host matching is left to the caller (in_scope).
    `allow_expired` is for the last good copy at start only: an expired config is enforced
    (flagged) rather than leaving the host unwatched (docs/security.md, "Expiry").
    """
    if not isinstance(doc, dict):
        doc = {}
    serial = _serial(config_path, doc, required=signed)
    if serial is not None and last_serial is not None and serial < last_serial:
        raise Refusal(
            errors.ROLLBACK,
            f"{config_path}: serial {serial} is lower than the last applied serial "
            f"{last_serial} (an old config replayed?); publish it with serial >= {last_serial} "
            "and re-sign",
            {"config": config_path, "serial": serial, "last_serial": last_serial,
             "key_id": key_id},
        )
    scope = _scope(config_path, doc, required=signed)
    not_after = _not_after(config_path, doc)
    if not_after is not None:
        current = _aware(now)
        if current >= not_after and not allow_expired:
            raise Refusal(
                errors.EXPIRED,
                f"{config_path}: expired at {_iso(not_after)} (now {_iso(current)}); set a "
                "later not_after and re-sign",
                {"config": config_path, "not_after": _iso(not_after), "key_id": key_id},
            )
    return serial, scope


def in_scope(host: HostIdentity, scope: Sequence[str]) -> bool:
    """Exact host name, fnmatch pattern (`web*`) or `@group`; host names ignore case."""
    name = host.name.lower()
    for entry in scope:
        if entry.startswith("@"):
            if entry[1:] in host.groups:
                return True
        elif any(c in entry for c in "*?["):
            if fnmatch.fnmatchcase(name, entry.lower()):
                return True
        elif entry.lower() == name:
            return True
    return False


def _serial(path: str, doc: Dict[str, Any], required: bool) -> Optional[int]:
    value = doc.get("serial")
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise Refusal(
            errors.MISSING_SERIAL,
            f"{path}: a signed config needs `serial:` as a non-negative integer (found "
            f"{value!r}); add one higher than the last and re-sign",
            {"config": path},
        )
    return value


def _scope(path: str, doc: Dict[str, Any], required: bool) -> Optional[Tuple[str, ...]]:
    value = doc.get("scope")
    if value is None and not required:
        return None
    if isinstance(value, str):
        value = [value]
    if (not isinstance(value, list) or not value
            or not all(isinstance(e, str) and e for e in value)):
        raise Refusal(
            errors.MISSING_SCOPE,
            f"{path}: a signed config needs `scope:` as a list of host names, patterns or "
            f"@groups (found {value!r}); add it and re-sign",
            {"config": path},
        )
    return tuple(value)


def _not_after(path: str, doc: Dict[str, Any]) -> Optional[datetime]:
    """RFC 3339 string, or the datetime YAML makes of an unquoted timestamp; naive = UTC."""
    value = doc.get("not_after")
    if value is None:
        return None
    if isinstance(value, datetime):
        return _aware(value)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=timezone.utc)
    if isinstance(value, str):
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            return _aware(datetime.fromisoformat(text))
        except ValueError:
            pass
    raise Refusal(
        errors.BAD_NOT_AFTER,
        f"{path}: not_after {value!r} is not an RFC 3339 time like "
        "\"2027-01-01T00:00:00Z\"; fix it and re-sign",
        {"config": path, "not_after": str(value)},
    )


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
