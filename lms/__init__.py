"""lms: training and certification for the staff of a city power-supply bureau.

Standalone: ``lms.create_app()``. As a plugin: ``LMS().init_app(host_app, url_prefix="/training")``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask

from lms.config import SETTINGS, parse_value
from lms.extension import LMS

__all__ = ["LMS", "create_app"]
__version__ = "0.1.0"

SECRET_FILE = "secret_key"


class ConfigurationError(RuntimeError):
    """The app cannot start as configured (the message says what to set)."""


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the standalone LMS app (mounted at ``/``).

    Configuration, later sources winning: defaults, ``instance/lms.cfg``, ``LMS_*`` environment
    variables, then ``config``. The secret key comes from ``LMS_SECRET_KEY`` (or ``SECRET_KEY``)
    or the instance folder's ``secret_key`` file, which ``lms demo`` and ``lms init`` create;
    outside debug and testing a missing secret key stops the start with a clear error.
    """
    instance_path = os.environ.get("LMS_INSTANCE_PATH")
    app = Flask(
        "lms", instance_path=instance_path, instance_relative_config=True, static_folder=None
    )
    app.config.from_pyfile("lms.cfg", silent=True)
    for key, setting in SETTINGS.items():  # the environment beats the instance file
        if key in os.environ:
            app.config[key] = parse_value(setting, os.environ[key])
    if os.environ.get("LMS_SECRET_KEY"):
        app.config["LMS_SECRET_KEY"] = os.environ["LMS_SECRET_KEY"]
    if config:
        app.config.update(config)
    _load_secret_key(app)
    LMS().init_app(app, url_prefix="", standalone=True)
    return app


def _load_secret_key(app: Flask) -> None:
    secret = app.config.get("LMS_SECRET_KEY") or app.config.get("SECRET_KEY")
    secret_file = Path(app.instance_path) / SECRET_FILE
    if not secret and secret_file.is_file():
        secret = secret_file.read_text().strip()
    if not secret:
        if app.debug or app.testing:
            import secrets

            secret = secrets.token_hex(32)
        else:
            raise ConfigurationError(
                f"No secret key: set LMS_SECRET_KEY, or run `lms init` to create {secret_file}."
            )
    app.config["SECRET_KEY"] = secret


def ensure_secret_file(instance_path: str | os.PathLike[str]) -> Path:
    """Create the instance folder's secret key file (mode 600) if it does not exist yet."""
    import secrets

    path = Path(instance_path) / SECRET_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(secrets.token_hex(32))
    return path
