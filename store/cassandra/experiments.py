"""Experiments and their streamed per-variant counts on Cassandra."""
from __future__ import annotations

import json
from collections.abc import Mapping

from config.registry import EXPERIMENT_METRIC_COLUMNS
from store.cassandra.session import CassandraSession
from store.interfaces import ExperimentStore, now_utc, utc


def _experiment(row: dict) -> dict:
    return {"experiment_id": row["experiment_id"], "name": row["name"], "surface": row["surface"],
            "state": row["state"], "spec": json.loads(row["spec"]), "created_at": utc(row["created_at"]),
            "stopped_at": utc(row["stopped_at"]) if row["stopped_at"] else None}


class CassandraExperiments(ExperimentStore):
    _db: CassandraSession

    def create_experiment(self, experiment_id: str, name: str, surface: str, spec: Mapping) -> dict:
        self._db.write("INSERT INTO {experiments} (experiment_id, name, surface, state, spec, created_at) "
                       "VALUES (?,?,?,?,?,?)", experiment_id, name, surface, "running", json.dumps(spec), now_utc())
        return self.experiment(experiment_id)

    def experiments(self) -> list[dict]:
        rows = [_experiment(r) for r in self._db.rows("SELECT * FROM {experiments}")]
        return sorted(rows, key=lambda e: (e["created_at"], e["experiment_id"]), reverse=True)

    def experiment(self, experiment_id: str) -> dict | None:
        row = self._db.one("SELECT * FROM {experiments} WHERE experiment_id = ?", experiment_id)
        return None if row is None else _experiment(row)

    def stop_experiment(self, experiment_id: str) -> bool:
        applied, _ = self._db.conditional("UPDATE {experiments} SET state = ?, stopped_at = ? WHERE experiment_id = ? "
                                          "IF EXISTS", "stopped", now_utc(), experiment_id)
        return applied

    def experiment_metrics(self, experiment_id: str) -> list[dict]:
        return [{k: v for k, v in r.items() if k != "experiment_id"} for r in
                self._db.rows("SELECT * FROM {experiment_metrics} WHERE experiment_id = ?", experiment_id)]

    def write_experiment_metrics(self, experiment_id: str, variant: str, bucket: int, values: Mapping) -> None:
        unknown = set(values) - set(EXPERIMENT_METRIC_COLUMNS)
        if unknown:
            raise ValueError(f"unknown experiment_metrics columns {sorted(unknown)}")
        names = list(values)
        self._db.write(f"INSERT INTO {{experiment_metrics}} (experiment_id, variant, bucket, {', '.join(names)}) "
                       f"VALUES (?,?,?{',?' * len(names)})", experiment_id, variant, int(bucket),
                       *(values[n] for n in names))
