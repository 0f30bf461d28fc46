"""gunicorn settings the API always runs with (``-c python:api.gunicorn_conf``; the command line adds the
bind address, workers and threads from the settings)."""
from prometheus_client import multiprocess


def child_exit(server, worker):
    """A worker that exits leaves its counters to the others' sum but its gauges out of scrapes."""
    multiprocess.mark_process_dead(worker.pid)
