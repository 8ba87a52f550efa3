"""PG2xxx: configuration applied, refused, reloaded."""

from ..message import Message

MESSAGES = (
    Message("PG2001", "config_applied", "notice", "configuration applied",
            ("config", "serial", "added", "changed", "removed", "unchanged"),
            "A new configuration is in force. Only added and changed watches were touched."),
    Message("PG2002", "config_refused", "err", "configuration refused, last good one stays",
            ("config", "reason", "problems"),
            "The new file is invalid. Nothing running was changed.",
            "Run `procguard check FILE` for one line per problem."),
    Message("PG2003", "config_problem", "err", "configuration problem",
            ("config", "line", "key", "problem"),
            "One problem found in a configuration file, with the line and key."),
    Message("PG2004", "watch_removed", "notice", "watch removed, its processes left running",
            ("watch", "pids"),
            "A reload dropped the watch. Its processes keep running, unwatched."),
    Message("PG2005", "no_config_in_force", "crit", "no configuration in force, nothing is watched",
            ("config", "reason"),
            "The agent has no config it can safely enforce: the file is refused and there is no "
            "last good copy. It stays up, serves `procguard status`, takes a new config by "
            "reload (or pull) at once, and says this every hour.",
            "Fix or replace the config (`procguard check FILE` names the problem), then "
            "`procguard reload`."),
)
