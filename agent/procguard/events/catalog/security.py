"""PG6xxx: signed configs, keys, file safety, central pull.

PG6001-PG6019: a config refused, one ID per reason (the refusal code is in the name).
PG6020-PG6029: unsigned mode. PG6030-PG6039: keys and state. PG6040-PG6049: pull.
"""

from typing import Dict, Tuple

from ..message import Message

_KEEP = "The last good configuration stays in force; nothing running was changed."

MESSAGES: Tuple[Message, ...] = (
    Message("PG6001", "config_refused_bad_signature", "alert",
            "configuration refused: signature does not match",
            ("config", "key_id", "source"),
            "The config bytes are not the ones the key signed: the file was changed after "
            "signing, or the signature belongs to another file. " + _KEEP,
            "If the change is yours, re-sign with `procguard sign --key KEY CONFIG`; "
            "otherwise treat it as tampering and find who wrote the file."),
    Message("PG6002", "config_refused_unknown_key", "alert",
            "configuration refused: signed by an unknown key",
            ("config", "key_id", "source"),
            "The signature was made by a key whose public half is not in the trusted key "
            "directory. " + _KEEP,
            "Install the key's .pub in the trusted key directory (key rotation), or re-sign "
            "with a trusted key."),
    Message("PG6003", "config_refused_revoked_key", "alert",
            "configuration refused: signed by a revoked key",
            ("config", "key_id", "source"),
            "The signing key is listed in the revocation list. " + _KEEP,
            "Re-sign the config with a current key; if you did not sign it, the revoked key "
            "is in someone else's hands."),
    Message("PG6004", "config_refused_unsigned", "err",
            "configuration refused: no signature",
            ("config", "signature", "source"),
            "The config has no detached signature and the agent was not started with "
            "--allow-unsigned. " + _KEEP,
            "Sign it with `procguard sign --key KEY CONFIG` and install CONFIG.sig beside it."),
    Message("PG6005", "config_refused_malformed_signature", "err",
            "configuration refused: signature file is malformed",
            ("config", "signature", "problem", "source"),
            "The signature file is not in the procguard-signature 1 format (truncated, "
            "edited, or not a procguard signature). " + _KEEP,
            "Make it again with `procguard sign --key KEY CONFIG`."),
    Message("PG6006", "config_refused_rollback", "alert",
            "configuration refused: serial lower than the last applied",
            ("config", "serial", "last_serial", "key_id", "source"),
            "A correctly signed but older config was offered: a replay of an old file, or a "
            "new config published without raising its serial. " + _KEEP,
            "Publish the config with a serial at least last_serial and re-sign it."),
    Message("PG6007", "config_refused_out_of_scope", "err",
            "configuration refused: this host is not in its scope",
            ("config", "host", "scope", "key_id", "source"),
            "The config is signed for other hosts; this host's name and groups (from the "
            "agent settings) match no scope entry. " + _KEEP,
            "Add the host name, a matching pattern or @group to `scope` and re-sign, or "
            "deploy the config meant for this host."),
    Message("PG6008", "config_refused_expired", "err",
            "configuration refused: expired",
            ("config", "not_after", "key_id", "source"),
            "The config's not_after time has passed. " + _KEEP,
            "Publish a config with a later not_after (and a higher serial) and re-sign it; "
            "check the host clock if the time looks wrong."),
    Message("PG6009", "config_refused_missing_serial", "err",
            "configuration refused: signed config has no serial",
            ("config", "source"),
            "A signed config must carry `serial:` as a non-negative integer so that replays "
            "of older configs can be refused. " + _KEEP,
            "Add `serial:` higher than the last one applied and re-sign."),
    Message("PG6010", "config_refused_missing_scope", "err",
            "configuration refused: signed config has no scope",
            ("config", "source"),
            "A signed config must carry `scope:` (host names, patterns, @groups) so that a "
            "config for one host cannot be replayed on another. " + _KEEP,
            "Add `scope:` and re-sign."),
    Message("PG6011", "config_refused_bad_not_after", "err",
            "configuration refused: not_after is not a valid time",
            ("config", "not_after", "source"),
            "not_after must be an RFC 3339 time such as 2027-01-01T00:00:00Z; an unreadable "
            "expiry is refused rather than ignored. " + _KEEP,
            "Fix not_after and re-sign."),
    Message("PG6012", "unsafe_file", "err",
            "file refused: writable by others or not owned by root",
            ("file", "kind", "problem", "fix"),
            "A config, signature, trusted key, revocation list or command file could be "
            "changed by a user other than root, which would defeat signing. It is not used.",
            "Run the command in `fix` (chmod go-w FILE, chown root:root FILE)."),
    Message("PG6013", "file_missing", "err",
            "file refused: does not exist",
            ("file", "kind"),
            "A file the configuration depends on is missing.",
            "Install the file, or correct its path in the agent settings."),
    Message("PG6014", "config_refused_bad_revocation_list", "alert",
            "configuration refused: revocation list unreadable",
            ("config", "revoked", "problem"),
            "A line of the revocation list is not a key id, or the file is not plain UTF-8 (a "
            "byte-order mark, say). A revocation the agent cannot read might be one it is "
            "missing, so no config is admitted until it is fixed. " + _KEEP,
            "Fix the file: one 16-hex-digit key id per line, `#` starts a comment."),
    Message("PG6020", "unsigned_mode", "alert",
            "running with --allow-unsigned: configs are not verified",
            ("config",),
            "The agent applies configs without a signature. Anyone who can write the config "
            "file decides what runs as root. Meant for local trials only.",
            "Restart the agent without --allow-unsigned once keys are set up."),
    Message("PG6021", "unsigned_config_applied", "warning",
            "unsigned configuration applied",
            ("config", "serial"),
            "An unsigned config was applied because the agent runs with --allow-unsigned.",
            "Sign the config and drop --allow-unsigned."),
    Message("PG6030", "trusted_key_revoked", "notice",
            "trusted key is revoked and ignored",
            ("key_id", "file", "revoked"),
            "A public key in the trusted key directory is also in the revocation list; "
            "configs signed by it are refused.",
            "Remove the .pub file once every config is re-signed with a current key."),
    Message("PG6031", "trusted_key_problem", "warning",
            "trust store problem, entry ignored",
            ("problem",),
            "A file in the trusted key directory is not an Ed25519 public key, or a line of "
            "the revocation list is not a key id. That entry is ignored; the others hold.",
            "Fix or remove the file or line named in `problem`."),
    Message("PG6032", "no_trusted_keys", "err",
            "no trusted keys: every signed configuration will be refused",
            ("dir",),
            "The trusted key directory is missing, empty, or holds only revoked keys.",
            "Install at least one .pub made by `procguard keygen` in the directory."),
    Message("PG6033", "last_good_restored", "warning",
            "last good configuration restored from state",
            ("config", "serial", "key_id", "saved_at"),
            "At start the config file on disk was refused, so the last good config kept in "
            "the state directory was admitted again and is in force.",
            "Find out why the file on disk was refused (see the PG60xx line before this one)."),
    Message("PG6034", "state_unreadable", "crit",
            "state file unreadable",
            ("file", "problem"),
            "The last good config and rollback floor could not be read; the agent continues "
            "without them.",
            "Inspect the file; remove it to start afresh (older configs could then be "
            "replayed once)."),
    Message("PG6046", "config_expires_soon", "warning", "configuration expires soon",
            ("config", "serial", "not_after", "left"),
            "The signed config in force reaches its not_after soon. Said 7 days, 1 day and 1 "
            "hour before (or at once, when a config applied is already that close).",
            "Publish the config again with a later not_after (and a higher serial), and sign it."),
    Message("PG6047", "config_expired_enforced", "crit", "configuration expired, still enforced",
            ("config", "serial", "not_after", "since"),
            "The config in force passed its not_after. The agent goes on enforcing it rather "
            "than leave the services unwatched, and says so every hour; `procguard status` "
            "shows EXPIRED. A config that expired is never admitted anew; only the copy in "
            "force (or the last good copy at start) is kept.",
            "Publish a config with a later not_after and a higher serial, signed."),
    Message("PG6040", "pull_failed", "warning",
            "config pull failed, retrying with backoff",
            ("url", "reason", "failures", "retry_in"),
            "The pull server could not be reached or answered with an error. The config in "
            "force stays; the next attempt waits longer each time, with jitter.",
            "Check the server, the network and the URL in the agent settings."),
    Message("PG6041", "pull_not_modified", "debug",
            "config pull: not modified",
            ("url", "etag"),
            "The server answered 304 Not Modified; nothing was downloaded or verified."),
    Message("PG6042", "pull_fetched", "info",
            "config pull: new config downloaded",
            ("url", "etag", "bytes"),
            "The server returned a config that differs from the last one; it goes through "
            "the same checks as a file on disk."),
    Message("PG6043", "pull_applied", "notice",
            "pulled configuration applied",
            ("url", "serial", "key_id"),
            "A config fetched from the pull server passed every check and is in force."),
    Message("PG6044", "pull_recovered", "notice",
            "config pull server reachable again",
            ("url", "failures"),
            "After failures, a pull succeeded; the normal interval is back."),
    Message("PG6045", "pull_pin_mismatch", "alert",
            "config pull refused: server certificate does not match the pin",
            ("url", "pinned_sha256", "seen_sha256"),
            "The server's certificate is not the pinned one: a different server, or a "
            "renewed certificate. Nothing was downloaded.",
            "If the certificate was renewed, update pull.pinned_sha256 in the agent settings "
            "(sha256 of the DER certificate); otherwise investigate the network path."),
)

REFUSAL_MESSAGES: Dict[str, str] = {
    "bad_signature": "config_refused_bad_signature",
    "unknown_key": "config_refused_unknown_key",
    "revoked_key": "config_refused_revoked_key",
    "unsigned": "config_refused_unsigned",
    "malformed_signature": "config_refused_malformed_signature",
    "rollback": "config_refused_rollback",
    "out_of_scope": "config_refused_out_of_scope",
    "expired": "config_refused_expired",
    "missing_serial": "config_refused_missing_serial",
    "missing_scope": "config_refused_missing_scope",
    "bad_not_after": "config_refused_bad_not_after",
    "unsafe_file": "unsafe_file",
    "missing_file": "file_missing",
    "bad_revocation_list": "config_refused_bad_revocation_list",
    "invalid": "config_refused",
    "check_failed": "config_refused",
}
"""Refusal code (procguard.refusal) -> the name of the message to log for it."""
