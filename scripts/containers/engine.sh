#!/usr/bin/env bash
# Start a local Docker engine for the Molecule tests, with no bridge and no iptables:
# containers only ever get network "none", and the host firewall is never touched.
# Idempotent: does nothing when an engine already answers.
# See docs/ansible.md ("Test containers").
set -euo pipefail

DAEMON_JSON=/etc/docker/daemon.json
LOG=${PROCGUARD_DOCKERD_LOG:-/var/log/procguard-dockerd.log}
WAIT_S=${PROCGUARD_DOCKERD_WAIT:-60}

log() { printf 'engine: %s\n' "$*" >&2; }

need_root() {
    if [ "$(id -u)" != 0 ]; then
        log "must run as root (installs packages, starts dockerd)"
        exit 1
    fi
}

install_engine() {
    if command -v dockerd >/dev/null 2>&1 && command -v containerd >/dev/null 2>&1; then
        return
    fi
    need_root
    log "installing docker.io"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # docker.io's policy-rc.d dance is moot without systemd; keep the install quiet.
    apt-get install -y -qq --no-install-recommends docker.io >/dev/null
}

write_daemon_json() {
    local want='{"bridge": "none", "iptables": false, "ip-forward": false, "ip-masq": false}'
    mkdir -p "$(dirname "$DAEMON_JSON")"
    if [ -f "$DAEMON_JSON" ] && python3 - "$DAEMON_JSON" <<'PY'
import json, sys
have = json.load(open(sys.argv[1]))
want = {"bridge": "none", "iptables": False, "ip-forward": False, "ip-masq": False}
sys.exit(0 if all(have.get(k) == v for k, v in want.items()) else 1)
PY
    then
        return
    fi
    log "writing $DAEMON_JSON"
    printf '%s\n' "$want" >"$DAEMON_JSON"
    chmod 0644 "$DAEMON_JSON"
}

engine_up() { docker info >/dev/null 2>&1; }

start_engine() {
    if engine_up; then
        return
    fi
    need_root
    log "starting dockerd in the background (log: $LOG)"
    # setsid: the engine outlives this script and the make target that called it.
    setsid dockerd --config-file "$DAEMON_JSON" >>"$LOG" 2>&1 </dev/null &
    echo $! >/run/procguard-dockerd.pid
    local i
    for ((i = 0; i < WAIT_S * 2; i++)); do
        if engine_up; then
            log "dockerd is up (pid $(cat /run/procguard-dockerd.pid))"
            return
        fi
        sleep 0.5
    done
    log "dockerd did not answer within ${WAIT_S}s; last lines of $LOG:"
    tail -n 30 "$LOG" >&2 || true
    exit 1
}

check_network() {
    # Refuse to go on if the engine has a bridge: every test container must be isolated.
    if docker network ls --format '{{.Driver}}' | grep -qx bridge; then
        log "the running engine has a bridge network; restart it with $DAEMON_JSON"
        exit 1
    fi
}

install_engine
if ! engine_up; then
    write_daemon_json
fi
start_engine
check_network
