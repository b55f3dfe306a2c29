"""(being written)"""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("wrongbook", __name__)
