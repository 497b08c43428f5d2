"""Administrators' API: departments, users (issue #10)."""

from flask import Blueprint

bp = Blueprint("admin_api", __name__, url_prefix="/api/v1")
