"""The built-in tools, one module each; `orbiter.tools.registry` lists them."""
