"""Benchmarks: in-process scoring, served load against a bare echo server, the MLServer peer, and the soak."""
