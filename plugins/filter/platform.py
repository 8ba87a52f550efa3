# Copyright: procguard developers
# Apache License 2.0 (see LICENSE)
"""procguard.fleet.platform_problem: why a role cannot run on this host, in one line, or ''.
Every role of the collection asks it first, so an unsupported host stops with the same kind
of message everywhere. Documentation: platform_problem.yml beside this file."""

from __future__ import annotations

import os


def platform_problem(facts, role, supported, allow_untested=False, vars_dir="", needs_systemd=True):
    """'' when `role` can run on the host these facts describe; else the reason and the fix."""
    facts = facts or {}
    family = facts.get("os_family", "unknown")
    host = "{} {} ({} family)".format(facts.get("distribution", "unknown"),
                                      facts.get("distribution_version", ""), family).replace("  ", " ")
    if family not in (supported or []) and not allow_untested:
        return (f"{role} is tested on the {', '.join(supported or [])} family only, and this host is {host}; "
                f"set {role}_allow_untested_platform: true to try anyway (it needs a vars/{family}.yml "
                "with this family's package names)")
    if vars_dir and not os.path.isfile(os.path.join(vars_dir, f"{family}.yml")):
        return (f"{role} has no vars/{family}.yml with the package names of the {family} family: "
                f"add one to {vars_dir} (see vars/Debian.yml), or run the role on a tested family")
    if needs_systemd and facts.get("service_mgr", "systemd") != "systemd":
        return (f"{role} needs systemd as the service manager, and this host, {host}, runs "
                f"{facts.get('service_mgr')}; it cannot run here")
    return ""


class FilterModule:
    def filters(self):
        return {"platform_problem": platform_problem}
