"""A loan's figures that change with time or with the vehicle's score, computed from the
read models the way `LoanManager`'s views compute them (`currentRateBps`, `outstanding`,
`loanToValueBps`, `nextDueDate`), as of the indexed block's time."""

from __future__ import annotations

from dataclasses import dataclass

BPS = 10_000
LIEN_STATES = frozenset({"Approved", "Active", "Overdue", "Defaulted"})


@dataclass(frozen=True)
class LatestScore:
    score: int
    estimated_value: int
    observed_at: int  # the contract's `updatedAt`


@dataclass(frozen=True)
class Terms:
    state: str
    principal: int
    repaid: int
    base_rate_bps: int
    applied_rate_bps: int
    baseline_score: int
    term_seconds: int
    installment_interval_seconds: int
    activated_at: int | None


def outstanding(terms: Terms) -> int:
    return terms.principal - terms.repaid


def current_rate_bps(
    terms: Terms,
    latest: LatestScore | None,
    now: int | None,
    *,
    heartbeat: int | None,
    step_bps: int | None,
    increase_bps: int | None,
) -> int:
    """The rate a fresh score (younger than HEARTBEAT at `now`) would set, else the applied
    one (also when `now` is unknown)."""
    if terms.state not in LIEN_STATES or latest is None or heartbeat is None or now is None:
        return terms.applied_rate_bps
    if latest.observed_at == 0 or latest.observed_at + heartbeat < now:
        return terms.applied_rate_bps
    if not step_bps or increase_bps is None:
        return terms.applied_rate_bps
    baseline = terms.baseline_score
    steps = (baseline - latest.score) // step_bps if baseline > latest.score else 0
    return terms.base_rate_bps * (BPS + steps * increase_bps) // BPS


def loan_to_value_bps(terms: Terms, latest: LatestScore | None) -> int | None:
    if latest is None or latest.estimated_value == 0:
        return None
    return outstanding(terms) * BPS // latest.estimated_value


def next_due_date(terms: Terms) -> int | None:
    """The due date of the first instalment the repayments do not cover (`_firstUnpaidDueDate`)."""
    if not terms.activated_at or terms.repaid == terms.principal:
        return None
    interval, term = terms.installment_interval_seconds, terms.term_seconds
    count = (term + interval - 1) // interval
    k = ((terms.repaid + 1) * count + terms.principal - 1) // terms.principal
    return terms.activated_at + min(k * interval, term)
