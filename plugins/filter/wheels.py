# Copyright: procguard developers
# Apache License 2.0 (see LICENSE)
"""procguard.fleet.newest_wheel and procguard.fleet.wheel_version: pick a wheel by its version
(PEP 440: 0.10.0 is newer than 0.9.0), never by sorting file names as text.
Documentation: newest_wheel.yml and wheel_version.yml beside this file."""

from __future__ import annotations

import os

from ansible.errors import AnsibleFilterError
from packaging.version import InvalidVersion, Version


def wheel_version(path):
    """The version field of a wheel file name: NAME-VERSION(-BUILD)-PY-ABI-PLATFORM.whl."""
    name = os.path.basename(str(path))
    parts = name[:-len(".whl")].split("-") if name.endswith(".whl") else []
    if len(parts) not in (5, 6):
        raise AnsibleFilterError(f"{path}: not a wheel file name (NAME-VERSION-PY-ABI-PLATFORM.whl)")
    try:
        Version(parts[1])
    except InvalidVersion:
        raise AnsibleFilterError(f"{path}: {parts[1]!r} is not a PEP 440 version") from None
    return parts[1]


def newest_wheel(paths):
    """The path whose wheel version is highest; '' for an empty list."""
    paths = [str(p) for p in (paths or [])]
    if not paths:
        return ""
    return max(paths, key=lambda p: (Version(wheel_version(p)), os.path.basename(p)))


class FilterModule:
    def filters(self):
        return {"newest_wheel": newest_wheel, "wheel_version": wheel_version}
