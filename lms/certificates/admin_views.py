"""HR's certificate pages under ``/admin/certificates``: the register of every certificate,
issuing to one person, the bulk issue (a job with progress), importing certificates held
before the system, and a preview of each design with sample data."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("certificate_admin", __name__, url_prefix="/admin/certificates")
