"""Process trees: a cgroup per watch where the host lets us write one, else the process
group and session every started service already gets.

Below the engine: it knows files under /sys/fs/cgroup and PIDs, nothing of units. The
engine asks it to place a process before it runs, to signal or kill a watch's whole tree,
whether anything of a watch is left, and for usage; the composition root picks the tree.
"""
