"""WSGI entry point: ``gunicorn api.wsgi:app``."""
from api.app import create_app
from config import load_settings

app = create_app(load_settings())
