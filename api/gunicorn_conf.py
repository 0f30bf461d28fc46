"""gunicorn settings the API always runs with (``-c python:api.gunicorn_conf``; the command line adds the
bind address, workers and threads from the settings)."""
from prometheus_client import multiprocess

# No request-line limit in gunicorn (its own is 4 KiB, answered with an HTML 400 before the app sees it): a
# long query string reaches the app, whose validation answers a JSON 400 naming the parameter (e.g. /search's
# q is at most 500 characters). Bodies stay bounded by api.max_body_bytes.
limit_request_line = 0


def child_exit(server, worker):
    """A worker that exits leaves its counters to the others' sum but its gauges out of scrapes."""
    multiprocess.mark_process_dead(worker.pid)
