"""The local consortium of `make run`: chain, node APIs, oracle scheduler and demo data."""
