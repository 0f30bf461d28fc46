"""How the Cassandra store lays out the streaming job's rows, without a Cassandra: the columns each sink binds exist
in its table, and a stored user_features row reads back as the features the interface promises."""
from __future__ import annotations

import json
import re

from store.cassandra.events import STORED_AS, USER_STORED_COLUMNS, features_of
from store.cassandra.schema import ADDED_COLUMNS, TABLES_CQL
from store.cassandra.sinks import SINKS
from store.interfaces import FeatureStore


def _columns(table: str) -> set[str]:
    declared = re.findall(r"\b([a-z_0-9]+) (?:int|bigint|text|double|float|timestamp|boolean|(?:list|map|set|frozen)<)",
                          TABLES_CQL[table])
    return set(declared) | set(ADDED_COLUMNS.get(table, {}))


def test_every_column_a_sink_binds_is_a_column_of_its_table():
    for name, spec in SINKS.items():
        table = re.search(r"(?:INTO|FROM|UPDATE) \{(\w+)\}", spec.cql).group(1)
        bound = [c for c in spec.columns if c != "write_us"]
        assert set(bound) <= _columns(table), (name, set(bound) - _columns(table))


def test_the_genre_affinity_is_stored_as_json_text_and_read_back_as_a_dict():
    assert STORED_AS["genre_affinity"] in USER_STORED_COLUMNS and "genre_affinity" not in USER_STORED_COLUMNS
    weights = {"Action": 1.5e45, "Slice of Life": 0.25}
    row = {"user_id": 7, **dict.fromkeys(USER_STORED_COLUMNS), "events": 2, "last_event_at": None,
           STORED_AS["genre_affinity"]: json.dumps(weights)}
    features = features_of(row)
    assert features["genre_affinity"] == weights and features["events"] == 2 and features["user_id"] == 7
    assert set(features) == {"user_id", *FeatureStore.USER_COLUMNS}


def test_a_row_without_features_is_none_and_missing_weights_are_empty():
    assert features_of(None) is None
    assert features_of({"user_id": 7, "recent": "[]", **dict.fromkeys(USER_STORED_COLUMNS)}) is None
    assert features_of({"user_id": 7, **dict.fromkeys(USER_STORED_COLUMNS), "events": 1})["genre_affinity"] == {}
