"""(being written)"""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("exam_statistics", __name__)
