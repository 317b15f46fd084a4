"""Execution: where a batch is scored, inline on the event loop or in worker processes. No gRPC."""
