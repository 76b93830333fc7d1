"""Tools agents call: built-ins (`registry.py`, the one list) and a project's custom tools."""
