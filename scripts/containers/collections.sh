#!/usr/bin/env bash
# Unpack the Ansible collections that Molecule's docker driver needs (community.docker,
# ansible.posix) from the `ansible` wheel on PyPI into a cache folder, since Galaxy is not
# reachable. Prints the folder to put in ANSIBLE_COLLECTIONS_PATH.
#   scripts/containers/collections.sh [PYTHON]
# Idempotent: a folder with a matching stamp is reused.
set -euo pipefail

PY=${1:-python3}
ANSIBLE_VERSION=${PROCGUARD_ANSIBLE_WHEEL_VERSION:-12.3.0}
COLLECTIONS="community/docker ansible/posix"
CACHE=${PROCGUARD_COLLECTIONS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/procguard/collections-$ANSIBLE_VERSION}
STAMP="$CACHE/.complete"

if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$COLLECTIONS" ]; then
    echo "$CACHE"
    exit 0
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "collections: downloading ansible==$ANSIBLE_VERSION wheel (once)" >&2
"$PY" -m pip download --quiet --no-deps --only-binary=:all: -d "$tmp" "ansible==$ANSIBLE_VERSION" >&2
wheel=$(ls "$tmp"/ansible-*.whl)
rm -rf "$CACHE"
mkdir -p "$CACHE/ansible_collections"
for c in $COLLECTIONS; do
    "$PY" - "$wheel" "$c" "$CACHE/ansible_collections" <<'PY'
import sys, zipfile, os
wheel, coll, dest = sys.argv[1:]
prefix = f"ansible_collections/{coll}/"
n = 0
with zipfile.ZipFile(wheel) as z:
    for info in z.infolist():
        if info.filename.startswith(prefix) and not info.is_dir():
            target = os.path.join(dest, info.filename[len("ansible_collections/"):])
            os.makedirs(os.path.dirname(target), exist_ok=True)
            with z.open(info) as src, open(target, "wb") as out:
                out.write(src.read())
            n += 1
if n == 0:
    sys.exit(f"collections: {coll} not found in {wheel}")
print(f"collections: {coll}: {n} files", file=sys.stderr)
PY
done
echo "$COLLECTIONS" >"$STAMP"
echo "$CACHE"
