#!/usr/bin/env bash
# Build and cache a Debian systemd image for the Molecule tests:
#   scripts/containers/image.sh SUITE        (bullseye | bookworm | trixie)
# gives procguard-test/debian:SUITE. No image can be pulled here and `docker build` has no
# network without a bridge, so the root file system comes from debootstrap and goes in
# with `docker import`.
# Cache: the image carries a label with the hash of this recipe; when the tag exists with
# the same hash, nothing is rebuilt. PROCGUARD_IMAGE_REBUILD=1 forces a rebuild.
# Mirror: debootstrap's default, unless PROCGUARD_DEBIAN_MIRROR is set.
set -euo pipefail

SUITE=${1:?usage: image.sh SUITE (bullseye|bookworm|trixie)}
REPO=${PROCGUARD_IMAGE_REPO:-procguard-test/debian}
TAG="$REPO:$SUITE"
HERE=$(cd "$(dirname "$0")" && pwd)
WORK=${PROCGUARD_IMAGE_WORK:-/var/tmp/procguard-image}

case "$SUITE" in
    bullseye | bookworm | trixie) ;;
    *) echo "image: unsupported suite $SUITE" >&2; exit 2 ;;
esac

# What debootstrap can resolve by itself (see docs/ansible.md, "Test containers").
BASE_PACKAGES=systemd,systemd-sysv,python3,python3-apt,sudo,procps,rsyslog
# Everything the roles install must already be in the image: test containers have no
# network. python3-cryptography cannot go in --include (virtual dependency).
EXTRA_PACKAGES=(
    python3-venv python3-yaml python3-cryptography python3-requests
    rsyslog rsyslog-gnutls logrotate sudo procps ca-certificates
)
# Debian's own nginx, enabled by its package, for the `systemd_unit` watch claims (Molecule's
# systemd_unit_nginx, tests/systemd/). bullseye's `nginx` means nginx-core and its image,
# XSLT and GeoIP modules; nginx-light is the same daemon and unit with fewer modules.
case "$SUITE" in
    bullseye) EXTRA_PACKAGES+=(nginx-light) ;;
    *) EXTRA_PACKAGES+=(nginx) ;;
esac
# Units that have nothing to do in a container and only make the boot noisy or slow.
MASKED_UNITS=(
    systemd-udevd.service systemd-udevd-control.socket systemd-udevd-kernel.socket
    getty@tty1.service console-getty.service getty.target
    sys-kernel-config.mount sys-kernel-debug.mount sys-kernel-tracing.mount
    sys-fs-fuse-connections.mount dev-hugepages.mount systemd-remount-fs.service
    systemd-modules-load.service apt-daily.timer apt-daily-upgrade.timer
    e2scrub_all.timer fstrim.timer
)

log() { printf 'image(%s): %s\n' "$SUITE" "$*" >&2; }

recipe_hash() {
    # The recipe is this script plus its suite; any edit here rebuilds every image.
    { cat "$0"; printf '%s\n' "$SUITE"; } | sha256sum | cut -c1-16
}

HASH=$(recipe_hash)

"$HERE/engine.sh"

have=$(docker image inspect --format '{{ index .Config.Labels "procguard.recipe" }}' "$TAG" 2>/dev/null || true)
if [ "$have" = "$HASH" ] && [ "${PROCGUARD_IMAGE_REBUILD:-0}" != 1 ]; then
    log "$TAG is up to date (recipe $HASH)"
    exit 0
fi

if [ "$(id -u)" != 0 ]; then
    log "must run as root to build (debootstrap, chroot)"
    exit 1
fi
if ! command -v debootstrap >/dev/null 2>&1; then
    log "installing debootstrap"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
fi

ROOT="$WORK/$SUITE"
cleanup() {
    for m in proc sys dev/pts; do
        if mountpoint -q "$ROOT/$m" 2>/dev/null; then umount -l "$ROOT/$m" || true; fi
    done
}
trap cleanup EXIT

rm -rf "$ROOT"
mkdir -p "$ROOT"
start=$(date +%s)
log "debootstrap into $ROOT"
# shellcheck disable=SC2086
debootstrap --variant=minbase --include="$BASE_PACKAGES" "$SUITE" "$ROOT" ${PROCGUARD_DEBIAN_MIRROR:-} \
    >"$WORK/$SUITE.debootstrap.log" 2>&1 || {
    log "debootstrap failed; last lines of $WORK/$SUITE.debootstrap.log:"
    tail -n 30 "$WORK/$SUITE.debootstrap.log" >&2
    exit 1
}

log "adding packages: ${EXTRA_PACKAGES[*]}"
cp /etc/resolv.conf "$ROOT/etc/resolv.conf"
mount -t proc proc "$ROOT/proc"
# No service may start inside the build chroot.
printf '#!/bin/sh\nexit 101\n' >"$ROOT/usr/sbin/policy-rc.d"
chmod 0755 "$ROOT/usr/sbin/policy-rc.d"
chroot "$ROOT" env DEBIAN_FRONTEND=noninteractive LANG=C.UTF-8 \
    apt-get install -y -q --no-install-recommends "${EXTRA_PACKAGES[@]}" \
    >"$WORK/$SUITE.apt.log" 2>&1 || {
    log "apt-get install failed; last lines of $WORK/$SUITE.apt.log:"
    tail -n 30 "$WORK/$SUITE.apt.log" >&2
    exit 1
}
chroot "$ROOT" apt-get clean
rm -f "$ROOT/usr/sbin/policy-rc.d"
umount "$ROOT/proc"

log "configuring systemd for a container"
# A link to /lib/...: test the link itself, not its target on the build host.
if [ ! -L "$ROOT/etc/systemd/system/multi-user.target.wants/nginx.service" ]; then
    log "nginx.service is not enabled after its install; see $WORK/$SUITE.apt.log"
    exit 1
fi
: >"$ROOT/etc/machine-id"
rm -f "$ROOT/var/lib/dbus/machine-id"
for unit in "${MASKED_UNITS[@]}"; do
    ln -sf /dev/null "$ROOT/etc/systemd/system/$unit"
done
# imklog cannot read /proc/kmsg in a container.
sed -i 's/^\(module(load="imklog".*\)$/#\1/' "$ROOT/etc/rsyslog.conf"
printf 'LANG=C.UTF-8\n' >"$ROOT/etc/default/locale"
: >"$ROOT/etc/resolv.conf"

log "importing as $TAG"
tar --numeric-owner -C "$ROOT" -c . | docker import \
    --change 'ENV container=docker' \
    --change 'ENV LANG=C.UTF-8' \
    --change 'CMD ["/lib/systemd/systemd"]' \
    --change "LABEL procguard.recipe=$HASH" \
    --change "LABEL procguard.suite=$SUITE" \
    - "$TAG" >/dev/null
rm -rf "$ROOT"
log "built $TAG (recipe $HASH) in $(($(date +%s) - start)) s"
