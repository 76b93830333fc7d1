"""Tenancy: projects, membership, roles, the one scoped loader and the one reference check,
and project events. Below every domain; imports only core, models and runtime.
"""
