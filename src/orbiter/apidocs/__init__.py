"""Swagger UI at /docs and ReDoc at /redoc, served with their assets from this server."""

from orbiter.apidocs.pages import install_api_docs

__all__ = ["install_api_docs"]
