#!/usr/bin/env bash
# make demo: the real flow in two minutes. Make a signing key, sign a watch config, start
# the agent on it, kill the watched web service with SIGKILL, and watch it come back.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${1:-.venv}
PG="$PWD/$VENV/bin/procguard"
PY="$PWD/$VENV/bin/python"
export PG="$PWD/$VENV/bin/procguard"
DEMO="$PWD/.demo"
PORT=${PROCGUARD_DEMO_PORT:-18080}
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

# The agent's cgroup directories, one per hierarchy (procguard/<state dir> below our own
# cgroup, as the agent places them); none when cgroups are off or it would be our own.
agent_cgroups() {
    "$PY" - "$DEMO/state" <<'PY'
import os, sys
from procguard.cgroups.choose import placement
from procguard.cgroups.mounts import hierarchies, read_host
found = hierarchies(*read_host())
unified = next((h for h in found if h.version == 2), None)
rel = placement(unified, None, sys.argv[1])[0] if unified else ""
for h in found if rel else []:
    print(h.directory(os.path.join(h.own, rel)))
PY
}

# The agent leaves its watches' cgroups with the services (a restarted agent adopts them);
# once the service is gone the demo removes the empty directories, deepest first, and says
# which one still holds a process.
remove_cgroups() {
    local top
    while IFS= read -r top; do
        [ -d "$top" ] || continue
        if [ -f "$top/cgroup.events" ]; then
            for _ in $(seq 100); do grep -qx 'populated 0' "$top/cgroup.events" && break; sleep 0.1; done
        fi
        find "$top" -depth -type d -exec rmdir {} + ||
            echo "demo: $top stays: processes still inside: $(cat "$top"/cgroup.procs "$top"/*/cgroup.procs 2>/dev/null | xargs)" >&2
    done < <(agent_cgroups)
}

cleanup() {
    [ "${KEEP:-0}" = 1 ] && return
    if [ -n "${AGENT_PID:-}" ] && kill -0 "$AGENT_PID" 2>/dev/null; then kill -TERM "$AGENT_PID"; wait "$AGENT_PID" 2>/dev/null || true; fi
    # the agent leaves services running by design; the demo stops the one it made
    if [ -n "${WEB_PIDS:-}" ]; then kill -TERM $WEB_PIDS 2>/dev/null || true; fi
    remove_cgroups
}
trap cleanup EXIT

rm -rf "$DEMO"; mkdir -p "$DEMO/keys" "$DEMO/trusted" "$DEMO/state" "$DEMO/run"
chmod 700 "$DEMO" "$DEMO/trusted"

say "1. Make a signing key (Ed25519) and trust its public half"
"$PG" keygen --out "$DEMO/keys" --name demo
cp "$DEMO/keys/demo.pub" "$DEMO/trusted/"
# the revocation list the agent is told about must exist: an empty one revokes nothing
: > "$DEMO/revoked.txt"

say "2. Write the watch config for this host and sign it"
sed -e "s|@PYTHON@|$PY|" -e "s|@PORT@|$PORT|" -e "s|@HOST@|$(hostname)|" -e "s|@SERIAL@|$(date +%s)|" \
    agent/procguard/data/demo.yaml.in > "$DEMO/watches.yaml"
"$PG" check "$DEMO/watches.yaml"
"$PG" sign --key "$DEMO/keys/demo.key" "$DEMO/watches.yaml"
"$PG" check --trusted-keys "$DEMO/trusted" "$DEMO/watches.yaml"

say "3. Start the agent (events go to syslog and, in the foreground, to $DEMO/agent.log)"
SYSLOG=/dev/log; [ -S /dev/log ] || SYSLOG=""
"$PG" agent --config "$DEMO/watches.yaml" --trusted-keys "$DEMO/trusted" --revoked "$DEMO/revoked.txt" \
    --state-dir "$DEMO/state" --socket "$DEMO/run/control.sock" --syslog-socket "$SYSLOG" \
    > /dev/null 2> "$DEMO/agent.log" &
AGENT_PID=$!
export PROCGUARD_SOCKET="$DEMO/run/control.sock"
# `procguard status` exits 1 while a watch is not healthy (scripts and monitors rely on
# it), so the demo waits for the agent to call the service healthy, not only for an answer
wait_healthy() {
    "$PY" - "$PORT" "${1:-}" <<'PY'
import json, os, subprocess, sys, time, urllib.request
port, old = sys.argv[1], sys.argv[2]
deadline = time.time() + 20
while True:
    out = subprocess.run([os.environ["PG"], "status", "--json"], capture_output=True, text=True)
    try:
        web = json.loads(out.stdout)["watches"][0]
        urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1).read()
        if web["healthy"] and web["pids"] and str(web["pids"][0]) != old:
            break
    except (ValueError, KeyError, IndexError, OSError):
        pass
    if time.time() > deadline:
        sys.exit("the web service was not healthy within 20 s")
    time.sleep(0.1)
PY
}
wait_healthy
"$PG" status
web_pid() { "$PG" status --json | "$PY" -c 'import json,sys; print(" ".join(map(str, json.load(sys.stdin)["watches"][0]["pids"])))'; }
WEB_PIDS=$(web_pid)

say "4. Kill the web service with SIGKILL (pid $WEB_PIDS)"
kill -KILL $WEB_PIDS
"$PY" - "$WEB_PIDS" <<'PY'
import json, os, subprocess, sys, time
old = sys.argv[1]
t0 = time.monotonic()
while time.monotonic() - t0 < 10:
    out = subprocess.run([os.environ.get("PG", "procguard"), "status", "--json"], capture_output=True, text=True)
    try:
        pids = json.loads(out.stdout)["watches"][0]["pids"]
    except (ValueError, KeyError, IndexError):
        pids = []
    if pids and str(pids[0]) != old:
        print(f"a new web service runs as pid {pids[0]} (seen {1000 * (time.monotonic() - t0):.0f} ms after the kill, "
              "including the time to ask the agent)")
        break
    time.sleep(0.01)
else:
    sys.exit("no replacement within 10 s")
PY
wait_healthy "$WEB_PIDS"
"$PG" status
WEB_PIDS=$(web_pid)

say "5. What happened, in the agent's own words (the same lines are in syslog)"
grep -E " PG(1005|1004|1006) " "$DEMO/agent.log" | tail -3
cat <<TXT

The kernel told the agent about the death through a pidfd the instant the process ended
(PG1005, with the real exit status: the agent started it, so it reaps it). The agent
started a replacement at once (PG1004): the first restart after a stable run is immediate,
only repeated failures back off. After 500 ms alive the start counted as good (PG1006).

TXT
if [ "${KEEP:-0}" = 1 ]; then
    cat <<TXT
The agent (pid $AGENT_PID) and the web service keep running. Try:
  export PROCGUARD_SOCKET=$DEMO/run/control.sock
  $PG pause web --for 5m;  $PG status;  $PG resume web;  $PG status --json
  $PG messages             (every message ID a log watcher can match)
Stop them with:  kill $AGENT_PID $WEB_PIDS
TXT
else
    echo "The demo stops the agent and its web service now (KEEP=1 make demo leaves them running)."
fi
