"""journald MESSAGE_IDs: derived from the PG ID, unique, and the same forever."""

from __future__ import annotations

import re
import uuid

from procguard.events import catalog
from procguard.events.journald_ids import NAMESPACE, field_name, journald_id


def test_ids_are_uuid5_of_the_pg_id_in_procguards_namespace():
    for m in catalog.ALL:
        assert journald_id(m) == journald_id(m.id) == uuid.uuid5(uuid.UUID(NAMESPACE), m.id).hex


def test_ids_are_unique_and_in_journalds_format():
    ids = [journald_id(m) for m in catalog.ALL]
    assert len(set(ids)) == len(ids)
    assert all(re.fullmatch(r"[0-9a-f]{32}", i) for i in ids)


def test_ids_never_change():
    """Operators' `journalctl MESSAGE_ID=...` searches outlive releases: these are pinned."""
    assert journald_id("PG1005") == "d2f881969e095ba983e9ac21e8d04125"
    assert journald_id("PG1001") == "b42feee0f03654b9bfa3cd7aa3902632"


def test_field_names_are_journal_fields():
    assert field_name("watch") == "PROCGUARD_WATCH"
    assert field_name("restarts_in_window") == "PROCGUARD_RESTARTS_IN_WINDOW"
    for m in catalog.ALL:
        for f in m.fields:
            assert re.fullmatch(r"PROCGUARD_[A-Z0-9_]+", field_name(f)), f
