"""Observability: per-call log records, Prometheus metrics and the logging set-up."""
