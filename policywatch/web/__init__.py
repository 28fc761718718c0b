"""The review web app: timeline, change and document pages, Atom feeds, a JSON API."""

from policywatch.web.app import create_app

__all__ = ["create_app"]
