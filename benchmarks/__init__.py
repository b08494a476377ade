"""Benchmarks and the load harness: measurements of the runtime packages, never imported by them.

`make bench-oracle` (`oracle`), `make bench-api` (`api`, `api_lists`), `make bench-load` (`load`,
over HTTP with `open_loop`), `make bench` (all, then `summary` writes docs/benchmarks.md).
"""
