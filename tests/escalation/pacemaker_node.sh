#!/bin/bash
# A single-node Corosync + Pacemaker cluster for the tests, run by
#   unshare --mount --net --propagation private -- bash pacemaker_node.sh WORKDIR
# Private mounts hide the host's /run, /dev/shm, /var/lib/pacemaker and /etc/corosync, and a
# private network namespace (loopback only) keeps libqb's abstract sockets apart, so this
# cluster never meets a real one on the host. The test stops it with SIGTERM to pacemakerd,
# then corosync; this shell then returns from `wait`.
set -e
W=$1
ip link set lo up
mount -t tmpfs -o mode=755 tmpfs /var/lib/pacemaker
for d in cib pengine blackbox cores; do mkdir -p /var/lib/pacemaker/$d; chown hacluster:haclient /var/lib/pacemaker/$d; chmod 750 /var/lib/pacemaker/$d; done
mount -t tmpfs tmpfs /var/lib/corosync
mount -t tmpfs -o mode=755 tmpfs /run
mount -t tmpfs -o mode=1777 tmpfs /dev/shm
mkdir -p $W/etc-corosync $W/log
cat > $W/etc-corosync/corosync.conf <<CONF
totem {
    version: 2
    cluster_name: pgtest
    crypto_cipher: none
    crypto_hash: none
    transport: knet
}
logging {
    to_logfile: yes
    logfile: $W/log/corosync.log
    to_syslog: no
    to_stderr: no
}
quorum {
    provider: corosync_votequorum
}
nodelist {
    node {
        name: node1
        nodeid: 1
        ring0_addr: 127.0.0.1
    }
}
CONF
mkdir -p $W/etc-corosync/uidgid.d
mount --bind $W/etc-corosync /etc/corosync
chown hacluster:haclient $W/log
corosync -f >$W/log/corosync.out 2>&1 &
for i in $(seq 100); do corosync-cfgtool -s >/dev/null 2>&1 && break; sleep 0.1; done
export PCMK_logfile=$W/log/pacemaker.log
pacemakerd -f >$W/log/pacemakerd.out 2>&1 &
echo started
wait
