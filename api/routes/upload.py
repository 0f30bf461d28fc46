"""POST /upload: a CSV file (multipart field ``file``) loaded into Cassandra by the ingest loaders.

How the bytes travel, and why this way: werkzeug parses the multipart body as it reads the
socket and writes the file part into a ``SpooledTemporaryFile`` that moves to disk past
500 KB, so an upload never sits in memory whatever its size; the loader
(:func:`ingest.catalog.load`) then streams that temporary file in batches of rows. Parsing
``request.stream`` ourselves would let loading start before the last byte arrives, but would
tie the order of the form fields (``dataset`` before ``file``) to correctness and lose the
validation and OpenAPI description that the :class:`api.models.UploadForm` model gives; the
price of the choice is a temporary file as large as the upload, bounded by the size limit.

The size limit is :data:`UPLOAD_MAX_BYTES` (200 MiB; ``app.config["UPLOAD_MAX_BYTES"]``
overrides it) and applies to this route only; a larger body is refused with a JSON 413 before
anything is read when it declares its length, and as soon as the limit is crossed when it is
chunked. A file that is not of the dataset's format (empty, wrong header, not UTF-8) is a 400
and writes nothing; bad rows are reported by line while the good rows are loaded.
"""
from __future__ import annotations

from flask import current_app, request
from flask_openapi3 import APIBlueprint, Tag
from werkzeug.exceptions import RequestEntityTooLarge

from api.auth import ADMIN, access
from api.errors import ApiError, error_response
from api.models import NoQuery, UploadForm
from api.query import invalid
from ingest.catalog import LoadResult, load
from ingest.csv_rows import FormatError
from store import StoreUnavailable

UPLOAD_MAX_BYTES = 200 * 1024 * 1024
SHOWN_REJECTIONS = 100  # bad rows listed in the answer (all of them are counted)
RETRY_AFTER_S = 10      # the Retry-After of a 503 (seconds): a timeout burst or a node restart

tag = Tag(name="upload", description="Load catalog, ratings or synopsis CSV files")
blueprint = APIBlueprint("upload", __name__, abp_tags=[tag])


def _limit() -> int:
    return current_app.config.get("UPLOAD_MAX_BYTES", UPLOAD_MAX_BYTES)


@blueprint.before_request
def _limit_upload_size() -> None:
    request.max_content_length = _limit()


@blueprint.errorhandler(RequestEntityTooLarge)
def _too_large(exc: RequestEntityTooLarge):
    limit = _limit()
    return error_response(413, f"upload too large: the limit is {limit} bytes ({limit / 2**20:g} MiB)",
                          limit_bytes=limit)


@blueprint.post("/upload", summary="Load a CSV file (anime, ratings or synopsis); bad rows are reported by line")
@access(ADMIN)
def upload(form: UploadForm, query: NoQuery):
    """Rows read, loaded, rejected and skipped, and the first rejected rows with line and reason.

    The load is idempotent (upserts), so sending a file again is safe; a load cut short by the
    store is a 503 with a ``Retry-After`` header, and what was written before stays (send the file
    again to complete it).
    Titles added through an ``anime`` upload are served at once by the worker that took the
    upload, and by every other worker within its catalog refresh (5 minutes).
    """
    resources = current_app.extensions["animerec"]
    file = form.file
    name = file.filename or "upload.csv"
    try:
        result = load(None if form.dry_run else resources.store, form.dataset, file.stream, name=name,
                      dry_run=form.dry_run, keep_rejections=SHOWN_REJECTIONS)
    except FormatError as exc:
        raise invalid("file", str(exc), dataset=form.dataset) from None
    except StoreUnavailable as exc:
        raise ApiError(503, "the store is unavailable; the upload was not (completely) loaded; send it again",
                       retry_after_s=RETRY_AFTER_S, reason=str(exc)) from exc
    finally:
        file.close()
    if form.dataset == "anime" and not form.dry_run and result.rows_loaded:
        resources.refresh_catalog()
    return _answer(result)


def _answer(result: LoadResult) -> dict:
    report = result.report
    return {"dataset": result.dataset, "file_name": result.file_name, "status": result.status,
            "rows_read": result.rows_read, "rows_loaded": result.rows_loaded,
            "rows_rejected": result.rows_rejected, "rows_skipped": result.rows_skipped,
            "skipped": result.skipped, "duplicates": result.duplicates,
            "rejected_by_reason": dict(report.reasons) if report else {},
            "rejections": [{"line": r.line, "code": r.code, "reason": r.reason, "text": r.text}
                           for r in result.rejections],
            "rejections_shown": len(result.rejections), "warnings": result.warnings,
            "bytes": report.bytes_read if report else 0, "sha256": result.sha256,
            "run_id": str(result.run_id) if result.run_id else None, "seconds": round(result.seconds, 3)}
