#!/usr/bin/env bash
# Install the peers that benchmarks/peers.py measures procguard against, as root on Debian 12.
# Idempotent: what is already there is not fetched again.
#   monit       from Debian (apt-get), its packaged service NOT started (policy-rc.d); the
#               benchmark runs its own monit with a private control file.
#   supervisor  from PyPI (pip) into a bench-only venv, .bench-venv/ at the repo root (never
#               globally, never into the project's .venv).
# Override the venv with BENCH_VENV=DIR and the supervisor version with SUPERVISOR_VERSION.
set -euo pipefail

cd "$(dirname "$0")/.."
BENCH_VENV="${BENCH_VENV:-.bench-venv}"
SUPERVISOR_VERSION="${SUPERVISOR_VERSION:-4.3.0}"
# Debian's interpreter, the one procguard runs under when the Ansible role deploys it
PYTHON="${PYTHON:-/usr/bin/python3}"

if command -v monit >/dev/null 2>&1 || [ -x /usr/bin/monit ]; then
    echo "bench-setup: monit present ($(monit -V 2>/dev/null | head -1))"
else
    if [ "$(id -u)" != 0 ]; then
        echo "bench-setup: monit missing; run as root to install it" >&2
        exit 1
    fi
    echo "bench-setup: installing monit"
    export DEBIAN_FRONTEND=noninteractive
    # no init system here, and no wish for a system-wide monit: keep the package's
    # maintainer script from starting its service. Leave an existing policy-rc.d alone.
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
        chmod 755 /usr/sbin/policy-rc.d
        trap 'rm -f /usr/sbin/policy-rc.d' EXIT
    fi
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends monit >/dev/null
    echo "bench-setup: $(monit -V | head -1)"
fi

if [ ! -x "$BENCH_VENV/bin/python" ]; then
    echo "bench-setup: creating $BENCH_VENV"
    "$PYTHON" -m venv "$BENCH_VENV"
    printf '*\n' > "$BENCH_VENV/.gitignore"   # keep the venv out of git status
fi
if "$BENCH_VENV/bin/python" -c "import supervisor.supervisord" 2>/dev/null \
   && [ "$("$BENCH_VENV/bin/python" -m pip show supervisor 2>/dev/null | sed -n 's/^Version: //p')" = "$SUPERVISOR_VERSION" ]; then
    echo "bench-setup: supervisor $SUPERVISOR_VERSION present in $BENCH_VENV"
else
    echo "bench-setup: installing supervisor $SUPERVISOR_VERSION into $BENCH_VENV"
    "$BENCH_VENV/bin/python" -m pip install --quiet --disable-pip-version-check "supervisor==$SUPERVISOR_VERSION"
fi
echo "bench-setup: supervisord at $BENCH_VENV/bin/supervisord"
