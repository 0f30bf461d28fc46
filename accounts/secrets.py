"""Secrets the launcher generates on first run under ``<run_dir>/secrets/`` (directory 0700, files 0600)."""
from __future__ import annotations

import os
import secrets
from pathlib import Path

from config import Settings

JWT_SECRET_FILE = "jwt-secret"


def write_private(path: Path, text: str) -> Path:
    """Write ``text`` readable by this user only (created 0600, never world-readable in between)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(text + "\n")
    os.chmod(path, 0o600)
    return path


def jwt_secret(settings: Settings) -> str | None:
    """The configured signing key, else the launcher's file; None when there is neither."""
    if settings.security.jwt_secret is not None:
        return settings.security.jwt_secret.get_secret_value()
    path = settings.secrets_dir / JWT_SECRET_FILE
    return path.read_text().strip() if path.exists() else None


def ensure_jwt_secret(settings: Settings) -> None:
    """Create the signing key file on first run (nothing when one is configured or exists)."""
    if jwt_secret(settings) is None:
        write_private(settings.secrets_dir / JWT_SECRET_FILE, secrets.token_urlsafe(48))
