"""Demo data of the local consortium, created through the node APIs over HTTP (the
product's own path): the sample fleet's vehicles registered by the two banks, signed
maintenance and insurance documents uploaded by the issuer, and loans in every lifecycle
state. Loans on the fleet's degrading vehicles stay active, so the oracle's pushes raise
value alerts for the lending bank. One loan is the other bank's, on a vehicle it did not
register: it applies with the registering bank's lien consent, as a lender must.

Idempotent: progress (loan ids, document CIDs) is kept in a JSON file, vehicles are looked
up before they are registered and loans resume from the state the chain holds.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx

from oracle.fleet_feeds import FleetFeeds, VehicleFeeds

log = logging.getLogger("localnet.demo")

T = TypeVar("T")
R = TypeVar("R")

DAY = 86_400
PRINCIPAL_SHARE = 0.6  # of the appraisal
WORKERS = 6  # concurrent requests per bank: the node sends them in nonce order
SCORE_WAIT_S = 120.0
# Loans that must fall due while the demo runs: one-second instalments over a short term.
SHORT_TERM_S = 3

# target state -> the actions that lead there from Applied, with the state after each.
PATHS: dict[str, list[tuple[str, str]]] = {
    "Applied": [],
    "Rejected": [("reject", "Rejected")],
    "Cancelled": [("cancel", "Cancelled")],
    "Approved": [("approve", "Approved")],
    "Active": [("approve", "Approved"), ("activate", "Active")],
    "Repaid": [("approve", "Approved"), ("activate", "Active"), ("repay", "Repaid")],
    "Closed": [
        ("approve", "Approved"),
        ("activate", "Active"),
        ("repay", "Repaid"),
        ("close", "Closed"),
    ],
    "Overdue": [("approve", "Approved"), ("activate", "Active"), ("mark-overdue", "Overdue")],
    "Defaulted": [
        ("approve", "Approved"),
        ("activate", "Active"),
        ("mark-overdue", "Overdue"),
        ("mark-defaulted", "Defaulted"),
    ],
    "Liquidated": [
        ("approve", "Approved"),
        ("activate", "Active"),
        ("mark-overdue", "Overdue"),
        ("mark-defaulted", "Defaulted"),
        ("liquidate", "Liquidated"),
    ],
}
FALLING_DUE = frozenset({"Overdue", "Defaulted", "Liquidated"})
TIMED_ACTIONS = frozenset({"mark-overdue", "mark-defaulted"})


class DemoDataError(RuntimeError):
    """A node refused a demo request it should have accepted."""


@dataclass(frozen=True)
class Endpoint:
    name: str
    url: str
    token: str

    def client(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.url, headers={"Authorization": f"Bearer {self.token}"}, timeout=60.0
        )


@dataclass(frozen=True)
class LoanPlan:
    key: str
    vin: str
    bank: int  # index into the banks
    target: str
    principal: int
    registered_by: int | None = None  # the other bank, when it registered the vehicle

    @property
    def short(self) -> bool:
        return self.target in FALLING_DUE


class Progress:
    """What was created, in a JSON file rewritten after every step."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.data: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}
        self._lock = threading.Lock()  # the demo's worker threads record concurrently

    def get(self, section: str, key: str) -> Any:
        return self.data.get(section, {}).get(key)

    def put(self, section: str, key: str, value: Any) -> None:
        with self._lock:
            self.data.setdefault(section, {})[key] = value
            self._write()

    def _write(self) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.data, indent=1, sort_keys=True))
        tmp.replace(self.path)

    @property
    def complete(self) -> bool:
        return bool(self.data.get("complete"))

    def mark_complete(self) -> None:
        with self._lock:
            self.data["complete"] = True
            self._write()


def _check(response: httpx.Response, what: str) -> dict[str, Any]:
    if response.status_code >= 400:
        # The problem's code and title only: a request body can hold a VIN or a reference.
        try:
            problem = response.json()
        except ValueError:
            problem = {}
        raise DemoDataError(
            f"{what}: HTTP {response.status_code} {problem.get('code', '')} "
            f"{problem.get('title', problem.get('detail', ''))}".strip()
        )
    body: dict[str, Any] = response.json()
    return body


class DemoData:
    def __init__(
        self,
        banks: tuple[Endpoint, Endpoint],
        issuer: Endpoint,
        feeds: FleetFeeds,
        degrading: set[str],
        progress: Progress,
        *,
        stop: Callable[[], bool] = lambda: False,
    ) -> None:
        self.banks = banks
        self.issuer = issuer
        self.vehicles = list(feeds.vehicles.values())
        self.degrading = degrading
        self.progress = progress
        self.stop = stop

    def run(self) -> None:
        if self.progress.complete:
            log.info("demo data already present: resumed")
            return
        self.register_vehicles()
        self.upload_documents()
        plans = self.loan_plans()
        self.wait_for_scores([plan.vin for plan in plans])
        self.run_loans(plans)
        self.progress.mark_complete()
        log.info("demo data complete")

    # ------------------------------------------------------------------ vehicles

    def lender_of(self, index: int) -> int:
        return index % 2

    def register_vehicles(self) -> None:
        def register(item: tuple[int, VehicleFeeds]) -> bool:
            index, feeds = item
            bank = self.banks[self.lender_of(index)]
            row = feeds.vehicle
            with bank.client() as client:
                if client.get(f"/v1/vehicles/{row.vin}").status_code == 200:
                    return False
                body = {
                    "vin": row.vin,
                    "owner_ref": f"owner-{index:04d}",
                    "appraisal_value": row.appraisal_value_minor,
                    "appraised_at": f"{row.appraisal_date.isoformat()}T00:00:00Z",
                }
                _check(client.post("/v1/vehicles", json=body), f"registering vehicle {index}")
            return True

        created = sum(_in_parallel(register, list(enumerate(self.vehicles))))
        log.info("vehicles: %d registered, %d already there", created, len(self.vehicles) - created)

    # ----------------------------------------------------------------- documents

    def upload_documents(self) -> None:
        """A maintenance record and an insurance record for every fifth vehicle, sealed and
        signed by the issuer's node."""
        chosen = [feeds for i, feeds in enumerate(self.vehicles) if i % 5 == 0]

        def upload(feeds: VehicleFeeds) -> int:
            done = 0
            for doc_type, text in _documents(feeds):
                key = f"{feeds.vin}:{doc_type}"
                if self.progress.get("documents", key):
                    continue
                with self.issuer.client() as client:
                    response = client.post(
                        f"/v1/vehicles/{feeds.vin}/documents",
                        data={"doc_type": doc_type},
                        files={"file": (f"{doc_type}.txt", text.encode(), "text/plain")},
                    )
                anchored = _check(response, f"uploading a {doc_type} document")
                self.progress.put("documents", key, anchored["cid"])
                done += 1
            return done

        uploaded = sum(_in_parallel(upload, chosen))
        log.info("documents: %d uploaded by the issuer", uploaded)

    # --------------------------------------------------------------------- loans

    def loan_plans(self) -> list[LoanPlan]:
        """Every state at least once; the degrading vehicles' loans stay active (alerts)."""
        per_state = max(1, len(self.vehicles) // 70)
        targets = [state for state in PATHS for _ in range(per_state)]
        plans: list[LoanPlan] = []
        degrading = [(i, f) for i, f in enumerate(self.vehicles) if f.vin in self.degrading]
        healthy = [(i, f) for i, f in enumerate(self.vehicles) if f.vin not in self.degrading]
        for index, feeds in degrading[: max(2, per_state * 4)]:
            plans.append(self._plan(index, feeds, "Active"))
        for (index, feeds), target in zip(healthy, targets, strict=False):
            plans.append(self._plan(index, feeds, target))
        if len(healthy) > len(targets):
            index, feeds = healthy[len(targets)]
            plan = self._plan(index, feeds, "Active")
            registering = self.lender_of(index)
            plans.append(
                LoanPlan(
                    f"{plan.key}-consented",
                    plan.vin,
                    1 - registering,
                    plan.target,
                    plan.principal,
                    registered_by=registering,
                )
            )
        return plans

    def _plan(self, index: int, feeds: VehicleFeeds, target: str) -> LoanPlan:
        principal = int(feeds.vehicle.appraisal_value_minor * PRINCIPAL_SHARE)
        return LoanPlan(f"loan-{index:04d}", feeds.vin, self.lender_of(index), target, principal)

    def wait_for_scores(self, vins: list[str]) -> None:
        """Approval needs a fresh score: wait for the oracle's next push to include them."""
        deadline = time.monotonic() + SCORE_WAIT_S
        waiting = list(vins)
        bank = self.banks[0]
        with bank.client() as client:
            while waiting and time.monotonic() < deadline and not self.stop():
                view = _check(client.get(f"/v1/vehicles/{waiting[0]}"), "reading a vehicle")
                if view.get("condition") is not None:
                    waiting.pop(0)
                else:
                    time.sleep(1.0)
        if waiting:
            raise DemoDataError(f"{len(waiting)} loan vehicles have no oracle score yet")

    def run_loans(self, plans: list[LoanPlan]) -> None:
        # First every step that needs no waiting, then the steps that wait for due dates.
        _in_parallel(lambda plan: self._advance(plan, timed=False), plans)
        timed = [plan for plan in plans if plan.short]
        if timed:
            time.sleep(SHORT_TERM_S + 1)
            for plan in timed:
                self._advance(plan, timed=True)
        states: dict[str, int] = {}
        for plan in plans:
            states[plan.target] = states.get(plan.target, 0) + 1
        log.info("loans: %s", ", ".join(f"{n} {s.lower()}" for s, n in sorted(states.items())))

    def _advance(self, plan: LoanPlan, *, timed: bool) -> None:
        bank = self.banks[plan.bank]
        with bank.client() as client:
            loan_id = self.progress.get("loans", plan.key)
            if loan_id is None:
                term = SHORT_TERM_S if plan.short else 360 * DAY
                interval = 1 if plan.short else 30 * DAY
                body = {
                    "vin": plan.vin,
                    "borrower_ref": f"borrower-{plan.key}",
                    "principal": plan.principal,
                    "base_rate_bps": 650,
                    "term_seconds": term,
                    "installment_interval_seconds": interval,
                }
                if plan.registered_by is not None:
                    body.update(
                        self._consent(plan.registered_by, plan, client, f"borrower-{plan.key}")
                    )
                loan_id = _check(client.post("/v1/loans", json=body), "applying for a loan")[
                    "loan_id"
                ]
                self.progress.put("loans", plan.key, loan_id)
            state = _check(client.get(f"/v1/loans/{loan_id}"), "reading a loan")["state"]
            path = PATHS[plan.target]
            reached = [after for _, after in path]
            start = reached.index(state) + 1 if state in reached else 0
            for action, _after in path[start:]:
                if action in TIMED_ACTIONS and not timed:
                    return
                body = {}
                if action == "repay":
                    body = {"amount": plan.principal}
                elif action == "liquidate":
                    body = {"amount_recovered": plan.principal // 2}
                _check(
                    client.post(f"/v1/loans/{loan_id}/{action}", json=body or None),
                    f"loan {loan_id} {action}",
                )

    def _consent(
        self, registered_by: int, plan: LoanPlan, lender: httpx.Client, borrower_ref: str
    ) -> dict[str, Any]:
        """The registering bank's consent to this lender's lien (it did the owner's KYC and
        holds the owner's consent), for a fresh commitment to the borrower: the application's
        `borrower_salt` and `consent`."""
        made = _check(
            lender.post("/v1/loans/borrower-commitments", json={"borrower_ref": borrower_ref}),
            "making a borrower commitment",
        )
        me = _check(lender.get("/v1/me"), "reading the lender's address")
        with self.banks[registered_by].client() as registering:
            consent = _check(
                registering.post(
                    "/v1/loans/lien-consents",
                    json={
                        "vin": plan.vin,
                        "lender": me["institution"]["address"],
                        "borrower_commitment": made["borrower_commitment"],
                        "principal": plan.principal,
                    },
                ),
                "asking the registering bank for a lien consent",
            )
        return {"borrower_salt": made["borrower_salt"], "consent": consent}


def _in_parallel(work: Callable[[T], R], items: list[T]) -> list[R]:
    """`work` over `items` on a few threads; on Ctrl-C the queued items are dropped, so the
    launcher stops after the requests in flight instead of after all of them."""
    pool = ThreadPoolExecutor(WORKERS)
    try:
        return list(pool.map(work, items))
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _documents(feeds: VehicleFeeds) -> list[tuple[str, str]]:
    """The issuer's records of the vehicle, as plain text documents."""
    maintenance = feeds.maintenance[-1] if feeds.maintenance else None
    insurance = feeds.insurance[-1] if feeds.insurance else None
    service = (
        f"Service record\nVIN: {feeds.vin}\nDate: {maintenance.service_date}\n"
        f"Work: {maintenance.kind.value}\nOdometer: {maintenance.odometer_km} km\n"
        f"Workshop: {maintenance.workshop}\n"
        if maintenance is not None
        else f"Service record\nVIN: {feeds.vin}\nInitial inspection at appraisal\n"
    )
    policy = (
        f"Insurance record\nVIN: {feeds.vin}\nDate: {insurance.event_date}\n"
        f"Event: {insurance.kind.value}\nInsurer: {insurance.insurer}\n"
        if insurance is not None
        else f"Insurance record\nVIN: {feeds.vin}\nPolicy in force, no claims\n"
    )
    return [("maintenance", service), ("insurance", policy)]
