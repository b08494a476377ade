"""A contract's refusal through a real node: the custom error's name for clients, a sentence
for the person reading it (`vcl.error_messages`), the raw error for auditors."""

from __future__ import annotations

import api_server
from api_server import NodeProcess, random_vin, register

# The module's fixtures: one consortium and a bank's node process.
bank_node = api_server.bank_node
deployment = api_server.deployment


def test_a_duplicate_vehicle_is_refused_in_a_sentence(bank_node: NodeProcess) -> None:
    vin = random_vin()
    first = register(bank_node, vin)
    assert first.status_code == 201, first.text
    vehicle_id = first.json()["vehicle_id"]
    second = register(bank_node, vin)
    assert second.status_code == 409
    body = second.json()
    assert body["error"] == "RegistryVehicleExists"
    short = f"{vehicle_id[:6]}…{vehicle_id[-4:]}"
    assert body["message"].startswith(f"Vehicle {short} is already registered, by bank ")
    assert vin not in body["message"]
    assert body["details"]["raw"].startswith(f"RegistryVehicleExists({vehicle_id}, ")
    assert body["details"]["args"][0] == vehicle_id
