"""The web app (``web/``, built by ``make web`` into ``api.web_dir``), served by the API on the same origin.

Each of the app's pages answers its ``index.html`` (the app routes in the browser), its hashed assets are
served from ``/assets/`` and kept by browsers for a year. These are not API operations: they are left out
of the OpenAPI document, and anyone may fetch them.
"""
from __future__ import annotations

from flask import Flask, send_from_directory

from api.auth import PUBLIC, access
from api.errors import error_response

# The app's pages (web/src/router.js): none of them is also an API path.
PAGES = ("/", "/signin", "/signup", "/for-you", "/browse", "/find", "/title/<int:anime_id>", "/history", "/dashboard")
ASSETS_ROUTE = "/assets/<path:filename>"
ASSET_MAX_AGE_S = 365 * 86_400


def register_web(app: Flask, web_dir) -> None:
    @access(PUBLIC)
    def page(**_):
        if not (web_dir / "index.html").exists():
            return error_response(404, f"the web app is not built in {web_dir}: `make web` builds it (the API's "
                                       "own documentation is at /openapi/swagger)")
        response = send_from_directory(web_dir, "index.html", max_age=0)
        response.headers["Cache-Control"] = "no-cache"
        return response

    @access(PUBLIC)
    def asset(filename: str):
        return send_from_directory(web_dir / "assets", filename, max_age=ASSET_MAX_AGE_S)

    for path in PAGES:
        app.add_url_rule(path, "web_page", page, methods=["GET"])
    app.add_url_rule(ASSETS_ROUTE, "web_asset", asset, methods=["GET"])
