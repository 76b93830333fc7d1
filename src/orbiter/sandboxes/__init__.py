"""Sandboxes and the terminal: run code and commands isolated on this host (API.md
"sandbox and terminal")."""
