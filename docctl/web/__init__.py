"""HTTP layer: parse, authorise, call a service, render."""

from docctl.web.setup import register_web

__all__ = ["register_web"]
