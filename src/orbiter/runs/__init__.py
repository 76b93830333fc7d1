"""Runs, spans (traces), prices and run events: the engine agents, workflows, tasks, action
items and deployments run on. `service` creates and reads runs; `engine` executes them in the
worker (executors register by kind); `events` publishes and follows their events."""
