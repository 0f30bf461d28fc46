"""WSGI entry point: ``gunicorn api.wsgi:app`` (logs as JSON lines)."""
from api.app import create_app
from api.logs import configure_logging
from config import load_settings

configure_logging()
app = create_app(load_settings())
