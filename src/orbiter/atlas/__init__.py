"""The project atlas: a graph of a project's code built from its latest snapshot."""
