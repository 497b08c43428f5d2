"""Import an existing documented system: dry run preview, then the import (issue #10)."""

from flask import Blueprint

bp = Blueprint("importing", __name__, url_prefix="/import")
