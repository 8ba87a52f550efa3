#!/usr/bin/env bash
# Install what the demo and the tests need on a Debian 12 host, as root. Idempotent: a
# package that is already there is not fetched again, so a second run costs nothing.
#   scripts/setup-host.sh demo   python3 + venv (the demo needs nothing else)
#   scripts/setup-host.sh test   + rsyslog, HAProxy, keepalived, Pacemaker/Corosync,
#                                 docker.io, debootstrap (real peers for the tests)
#                                 + prometheus, node_exporter, alertmanager (observability)
#                                 + logrotate (service output)
set -euo pipefail

want=(python3 python3-venv python3-pip ca-certificates)
if [ "${1:-test}" = test ]; then
    want+=(rsyslog haproxy keepalived pacemaker pacemaker-cli-utils corosync docker.io
           debootstrap iproute2 procps)
    want+=(prometheus prometheus-node-exporter prometheus-alertmanager)
    want+=(logrotate)  # rotates the agent's file output in tests/trees (rename mode)
fi

missing=()
for pkg in "${want[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ "${#missing[@]}" -eq 0 ]; then
    echo "setup-host: all ${#want[@]} packages present"
    exit 0
fi
if [ "$(id -u)" != 0 ]; then
    echo "setup-host: missing ${missing[*]}; run as root to install them" >&2
    exit 1
fi
echo "setup-host: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# no init system here: keep maintainer scripts from trying to start services (and leave
# a policy-rc.d that someone else put there alone)
if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
