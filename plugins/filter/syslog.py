# Copyright: procguard developers
# Apache License 2.0 (see LICENSE)
"""procguard.fleet.syslog_target: one forwarding target of the procguard_syslog role with
every setting resolved and checked, so the rsyslog template only prints.
Documentation: syslog_target.yml beside this file."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

FORMATS = ("traditional", "rfc3164", "rfc5424")
FRAMINGS = ("octet-counted", "traditional")
KEYS = ("host", "port", "format", "tls", "permitted_peer", "framing")


def syslog_target(target, default_tls=True, default_format="rfc5424"):
    """host, port (6514 with TLS, else 514), format, tls, permitted_peer (host), framing
    (octet-counted for RFC 5424, as RFC 5425 and 6587 say; newline otherwise)."""
    if not isinstance(target, dict) or not str(target.get("host") or "").strip():
        raise AnsibleFilterError(f"procguard_syslog_forward_targets: every target needs a host; got {target!r}")
    where = f"procguard_syslog_forward_targets ({target['host']})"
    unknown = sorted(set(target) - set(KEYS))
    if unknown:
        raise AnsibleFilterError(f"{where}: unknown key {unknown[0]}; use {', '.join(KEYS)}")
    tls = target.get("tls", default_tls)
    if not isinstance(tls, bool):
        raise AnsibleFilterError(f"{where}: tls must be true or false, not {tls!r}")
    fmt = target.get("format", default_format)
    if fmt not in FORMATS:
        raise AnsibleFilterError(f"{where}: format {fmt!r} is not one of {', '.join(FORMATS)}")
    framing = target.get("framing", "octet-counted" if fmt == "rfc5424" else "traditional")
    if framing not in FRAMINGS:
        raise AnsibleFilterError(f"{where}: framing {framing!r} is not one of {', '.join(FRAMINGS)}")
    try:
        port = int(target.get("port", 6514 if tls else 514))
    except (TypeError, ValueError):
        port = 0
    if not 0 < port < 65536:
        raise AnsibleFilterError(f"{where}: port {target.get('port')!r} is not a TCP port (1-65535)")
    return {"host": str(target["host"]), "port": port, "format": fmt, "tls": tls, "framing": framing,
            "permitted_peer": str(target.get("permitted_peer") or target["host"])}


class FilterModule:
    def filters(self):
        return {"syslog_target": syslog_target}
