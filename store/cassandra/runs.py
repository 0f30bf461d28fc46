"""The load manifest and the training queue on Cassandra."""
from __future__ import annotations

import json
import uuid
from collections.abc import Mapping

from store.cassandra.schema import TRAINING_QUEUE
from store.cassandra.session import CassandraSession
from store.interfaces import LOAD_RUN_COLUMNS, TRAINING_RUN_FIELDS, LoadManifest, TrainingQueue, now_utc, run_uuid, utc

_LOAD_TIMES = ("started_at", "completed_at")
_RUN_COLUMNS = ", ".join(TRAINING_RUN_FIELDS)
_RUN_TIMES = ("requested_at", "started_at", "finished_at")


class CassandraLoadManifest(LoadManifest):
    _db: CassandraSession

    def record_load_run(self, run: Mapping) -> None:
        self._db.write(f"INSERT INTO {{load_runs}} ({', '.join(LOAD_RUN_COLUMNS)}) "
                       f"VALUES ({','.join('?' * len(LOAD_RUN_COLUMNS))})", *(run.get(c) for c in LOAD_RUN_COLUMNS))

    def load_runs(self, dataset: str, limit: int = 10) -> list[dict]:
        rows = self._db.rows(f"SELECT {', '.join(LOAD_RUN_COLUMNS)} FROM {{load_runs}} WHERE dataset = ? LIMIT ?",
                             dataset, limit)
        for row in rows:
            for column in _LOAD_TIMES:
                row[column] = utc(row[column])
        return rows


def _run(row: dict) -> dict:
    run = {field: row.get(field) for field in TRAINING_RUN_FIELDS}
    run["run_id"] = str(run["run_id"])
    run["params"] = json.loads(run["params"]) if run["params"] else {}
    run["log_tail"] = list(run["log_tail"] or [])
    for field in _RUN_TIMES:
        run[field] = utc(run[field])
    return run


class CassandraTrainingQueue(TrainingQueue):
    """Every state change is a lightweight transaction on the queue's one partition, so it is serialised
    with the claims: two workers never both move a run out of ``queued``, and a finished run stays so."""

    _db: CassandraSession

    def _insert_training_run(self, run: dict) -> None:
        applied, _ = self._db.conditional(
            "INSERT INTO {training_runs} (queue, run_id, state, requested_at, requested_by, params) "
            "VALUES (?,?,?,?,?,?) IF NOT EXISTS", TRAINING_QUEUE, run["run_id"], run["state"], run["requested_at"],
            run["requested_by"], json.dumps(run["params"]))
        if not applied:
            raise RuntimeError(f"training run {run['run_id']} exists already")

    def claim_training(self, worker: str) -> dict | None:
        # Oldest first (the clustering order); a run another worker took since this read fails
        # the condition, and the next queued one is tried.
        for row in self._db.rows("SELECT run_id, state FROM {training_runs} WHERE queue = ?", TRAINING_QUEUE,
                                 fetch_size=500):
            if row["state"] != "queued":
                continue
            applied, _ = self._db.conditional(
                "UPDATE {training_runs} SET state = 'running', worker = ?, started_at = ? "
                "WHERE queue = ? AND run_id = ? IF state = 'queued'", worker, now_utc(), TRAINING_QUEUE, row["run_id"])
            if applied:
                return self.training_run(row["run_id"])
        return None

    def _finish_training_run(self, run_id: uuid.UUID, fields: dict) -> bool:
        applied, current = self._db.conditional(
            "UPDATE {training_runs} SET state = ?, finished_at = ?, version = ?, error = ?, log_tail = ? "
            "WHERE queue = ? AND run_id = ? IF state IN ('queued', 'running')",
            fields["state"], fields["finished_at"], fields["version"], fields["error"], fields["log_tail"],
            TRAINING_QUEUE, run_id)
        if not applied and current.get("state") is None:
            raise KeyError(f"no training run {run_id}")
        return applied

    def training_runs(self, limit: int = 20) -> list[dict]:
        return [_run(r) for r in self._db.rows(
            f"SELECT {_RUN_COLUMNS} FROM {{training_runs}} WHERE queue = ? ORDER BY run_id DESC LIMIT ?",
            TRAINING_QUEUE, limit)]

    def training_run(self, run_id: str | uuid.UUID) -> dict | None:
        key = run_uuid(run_id)
        if key is None:
            return None
        row = self._db.one(f"SELECT {_RUN_COLUMNS} FROM {{training_runs}} WHERE queue = ? AND run_id = ?",
                           TRAINING_QUEUE, key)
        return _run(row) if row else None
