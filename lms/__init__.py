"""lms: training and certification for the staff of a city power-supply bureau.

Standalone: ``lms.create_app()``. As a plugin: ``LMS().init_app(host_app, url_prefix="/training")``.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask

from lms.config import ConfigurationError, environment_values
from lms.extension import LMS

__all__ = ["LMS", "ConfigurationError", "create_app", "ensure_secret_file"]
__version__ = "0.1.0"

SECRET_FILE = "secret_key"


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the standalone LMS app (mounted at ``/``).

    Configuration, later sources winning: defaults, ``instance/lms.cfg``, ``LMS_*`` environment
    variables, then ``config``. The instance folder is ``LMS_INSTANCE_PATH`` (environment only)
    or Flask's default. The secret key comes from ``LMS_SECRET_KEY`` (or ``SECRET_KEY``), else
    the instance folder's ``secret_key`` file, which ``lms init`` and ``lms demo`` create.
    Outside debug and testing, a missing secret key raises :class:`ConfigurationError`.
    """
    app = Flask(
        "lms", instance_path=instance_path(), instance_relative_config=True, static_folder=None
    )
    app.config.from_pyfile("lms.cfg", silent=True)
    app.config.update(environment_values())  # the environment beats the instance file
    if config:
        app.config.update(config)
    _load_secret_key(app)
    LMS().init_app(app, url_prefix="", standalone=True)
    return app


def instance_path() -> str | None:
    """``LMS_INSTANCE_PATH`` made absolute (Flask refuses a relative one); None: Flask's
    default (``instance/`` in a source checkout, ``<prefix>/var/lms-instance`` when installed)."""
    configured = os.environ.get("LMS_INSTANCE_PATH", "").strip()
    return str(Path(configured).resolve()) if configured else None


def _load_secret_key(app: Flask) -> None:
    secret = app.config.get("LMS_SECRET_KEY") or app.config.get("SECRET_KEY")
    secret_file = Path(app.instance_path) / SECRET_FILE
    if not secret and secret_file.is_file():
        secret = secret_file.read_text(encoding="ascii").strip()
    if not secret:
        if not (app.debug or app.testing):
            raise ConfigurationError(
                "No secret key. Set the LMS_SECRET_KEY environment variable, or run `lms init` "
                f"to create the file {secret_file}."
            )
        secret = secrets.token_hex(32)  # development only: sessions end with the process
    app.config["SECRET_KEY"] = secret


def ensure_secret_file(instance_path: str | os.PathLike[str]) -> Path:
    """Create the instance folder's secret key file, readable by its owner only (mode 600),
    unless it exists already. Returns its path."""
    path = Path(instance_path) / SECRET_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        # O_EXCL: never overwrite a key (that would sign everyone out); the mode is set at
        # creation, so the key is never readable by others, not even for a moment.
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path
    os.fchmod(descriptor, 0o600)  # whatever the umask
    with os.fdopen(descriptor, "w", encoding="ascii") as file:
        file.write(secrets.token_hex(32))
    return path
