"""Where a service's stdout and stderr go: the journal through its stream protocol when
journald runs, else files the agent rotates itself by size, so output never fills a disk."""
