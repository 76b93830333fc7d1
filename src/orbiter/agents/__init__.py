"""Agents: instructions, a model and tools, run by the engine (`executor.py`)."""
