#!/usr/bin/env bash
# A command that runs in the background while other make targets run, collected at the end:
# `make test` starts its soak first and waits for it last, so the soak's minutes overlap
# lint, pytest and Molecule instead of adding to them.
#   background-job.sh start JOB -- CMD...  start CMD in a session of its own; output in JOB.log
#   background-job.sh wait JOB SECONDS     wait at most SECONDS, print JOB.log, exit with CMD's status
#   background-job.sh stop JOB             stop it (its process group, by the PID it was given)
set -euo pipefail

action=${1:?start, wait or stop}
job=${2:?the job: a path without extension, e.g. .test-results/soak-job}
shift 2

stop_job() {
    # only the job we started: its PID leads a process group whose command names the job
    local pid
    pid=$(cat "$job.pid" 2>/dev/null) || return 0
    if tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$job"; then
        kill -- "-$pid" 2>/dev/null || true
    fi
}

case $action in
start)
    [ "${1:-}" = "--" ] && shift
    mkdir -p "$(dirname "$job")"
    stop_job  # one left from an earlier run must not answer for this one
    rm -f "$job.rc" "$job.pid" "$job.log"
    # the status lands in JOB.rc only once the command has ended (rename: never half written)
    setsid bash -c '"$@" >"$0.log" 2>&1; echo $? >"$0.rc.new"; mv "$0.rc.new" "$0.rc"' "$job" "$@" </dev/null &
    echo $! >"$job.pid"
    echo "background: $* (log: $job.log)"
    ;;
wait)
    limit=${1:?the longest wait in seconds}
    [ -f "$job.pid" ] || { echo "background job $job was never started"; exit 1; }
    waited=0
    while [ ! -f "$job.rc" ]; do
        if [ "$waited" -ge "$limit" ]; then
            echo "background job $job did not end within ${limit}s; stopping it"
            stop_job
            exit 1
        fi
        sleep 5
        waited=$((waited + 5))
    done
    cat "$job.log"
    exit "$(cat "$job.rc")"
    ;;
stop)
    stop_job
    ;;
*)
    echo "usage: $0 start|wait|stop JOB ..." >&2
    exit 2
    ;;
esac
