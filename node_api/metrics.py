"""Prometheus text exposition, written by hand (no prometheus_client in this environment).

Counters and histograms are kept under one lock: routes run in a threadpool.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Iterable

from node_api.indexer.metrics import IndexerMetrics

LATENCY_BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

RouteKey = tuple[str, str]  # (method, route template)


class ApiMetrics:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: dict[tuple[str, str, int], int] = defaultdict(int)
        self._buckets: dict[RouteKey, list[int]] = {}
        self._sums: dict[RouteKey, float] = defaultdict(float)
        self._counts: dict[RouteKey, int] = defaultdict(int)
        self.transactions_sent = 0
        self._transactions_failed: dict[str, int] = defaultdict(int)
        self._verifications: dict[str, int] = defaultdict(int)
        self._peer_fetches: dict[tuple[str, str], int] = defaultdict(int)

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        key = (method, route)
        with self._lock:
            self._requests[(method, route, status)] += 1
            buckets = self._buckets.setdefault(key, [0] * len(LATENCY_BUCKETS_S))
            for i, bound in enumerate(LATENCY_BUCKETS_S):
                if seconds <= bound:
                    buckets[i] += 1
            self._sums[key] += seconds
            self._counts[key] += 1

    def transaction_sent(self) -> None:
        with self._lock:
            self.transactions_sent += 1

    def transaction_failed(self, reason: str) -> None:
        with self._lock:
            self._transactions_failed[reason] += 1

    def verification_result(self, status: str) -> None:
        with self._lock:
            self._verifications[status] += 1

    def peer_answer(self, peer: str, outcome: str) -> None:
        """A peer node asked for a document: fetched, not_found, unavailable or refused
        (its bytes did not hash to the CID)."""
        with self._lock:
            self._peer_fetches[(peer, outcome)] += 1

    def render(self, indexer: IndexerMetrics | None) -> str:
        out: list[str] = []
        with self._lock:
            _family(out, "vcl_http_requests_total", "counter", "HTTP requests by route.")
            for (method, route, status), n in sorted(self._requests.items()):
                labels = _labels(method=method, route=route, status=str(status))
                out.append(f"vcl_http_requests_total{labels} {n}")
            name = "vcl_http_request_duration_seconds"
            _family(out, name, "histogram", "HTTP request latency by route.")
            for (method, route), buckets in sorted(self._buckets.items()):
                for bound, n in zip(LATENCY_BUCKETS_S, buckets, strict=True):
                    labels = _labels(method=method, route=route, le=f"{bound:g}")
                    out.append(f"{name}_bucket{labels} {n}")
                count = self._counts[(method, route)]
                labels = _labels(method=method, route=route, le="+Inf")
                out.append(f"{name}_bucket{labels} {count}")
                plain = _labels(method=method, route=route)
                out.append(f"{name}_sum{plain} {self._sums[(method, route)]:.6f}")
                out.append(f"{name}_count{plain} {count}")
            _family(out, "vcl_transactions_sent_total", "counter", "Transactions mined.")
            out.append(f"vcl_transactions_sent_total {self.transactions_sent}")
            _family(
                out, "vcl_transactions_failed_total", "counter", "Transactions refused or lost."
            )
            out.extend(
                _series("vcl_transactions_failed_total", "reason", self._transactions_failed)
            )
            _family(out, "vcl_document_verifications_total", "counter", "Verifications by status.")
            out.extend(_series("vcl_document_verifications_total", "status", self._verifications))
            name = "vcl_peer_fetches_total"
            _family(out, name, "counter", "Documents asked of peer nodes, by peer and outcome.")
            for (peer, outcome), n in sorted(self._peer_fetches.items()):
                out.append(f"{name}{_labels(peer=peer, outcome=outcome)} {n}")
        if indexer is not None:
            _indexer_lines(out, indexer)
        return "\n".join(out) + "\n"


def _indexer_lines(out: list[str], indexer: IndexerMetrics) -> None:
    lag = indexer.lag_blocks
    _family(out, "vcl_indexer_lag_blocks", "gauge", "Blocks the head is ahead of the index.")
    if lag is not None:
        out.append(f"vcl_indexer_lag_blocks {lag}")
    _family(out, "vcl_indexer_cursor_block", "gauge", "Last indexed block.")
    if indexer.cursor_block is not None:
        out.append(f"vcl_indexer_cursor_block {indexer.cursor_block}")
    counters = (
        ("vcl_indexer_events_indexed_total", "Events stored.", indexer.events_indexed_total),
        ("vcl_indexer_reorgs_total", "Reorgs detected.", indexer.reorgs_total),
        ("vcl_indexer_read_errors_total", "Failed indexing steps.", indexer.read_errors_total),
    )
    for name, help_text, value in counters:
        _family(out, name, "counter", help_text)
        out.append(f"{name} {value}")
    _family(out, "vcl_indexer_standing_by", "gauge", "1: another worker of this node indexes.")
    out.append(f"vcl_indexer_standing_by {int(indexer.standing_by)}")


def _family(out: list[str], name: str, kind: str, help_text: str) -> None:
    out.append(f"# HELP {name} {help_text}")
    out.append(f"# TYPE {name} {kind}")


def _series(name: str, label: str, values: dict[str, int]) -> Iterable[str]:
    return (f"{name}{_labels(**{label: key})} {n}" for key, n in sorted(values.items()))


def _labels(**labels: str) -> str:
    shown = ",".join(f'{k}="{_escape(v)}"' for k, v in labels.items())
    return "{" + shown + "}"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
