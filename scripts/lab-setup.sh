#!/usr/bin/env bash
# What `make lab` needs beyond `make test`'s set-up, as root on Debian 12. Idempotent.
#   HAProxy, keepalived, iproute2, docker engine: scripts/setup-host.sh test
#   supervisord (.bench-venv/) and monit (apt): scripts/bench-setup.sh
#   the systemd image procguard-test/debian:bookworm: # Any build of the image will do (the lab only needs systemd and python3 in it): build it
# only when it is missing, never rebuild one that Molecule may be using right now.
scripts/containers/engine.sh
if ! docker image inspect procguard-test/debian:bookworm >/dev/null 2>&1; then
    scripts/containers/image.sh bookworm
fi
#   matplotlib for the plots: requirements-lab.txt into the project's venv
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${VENV:-.venv}"
scripts/setup-host.sh test
scripts/bench-setup.sh
# Any build of the image will do (the lab only needs systemd and python3 in it): build it
# only when it is missing, never rebuild one that Molecule may be using right now.
scripts/containers/engine.sh
if ! docker image inspect procguard-test/debian:bookworm >/dev/null 2>&1; then
    scripts/containers/image.sh bookworm
fi
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r requirements-lab.txt
