"""The web application: staff pages, plugin pages and health check."""

from core.web.app import create_app

__all__ = ["create_app"]
