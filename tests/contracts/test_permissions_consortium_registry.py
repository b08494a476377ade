"""Permission matrix: every write function of Consortium and VehicleRegistry x every kind of caller.

Callers: each member kind, the bound system contract (an account bound as LoanManager), a suspended
bank, a removed issuer and a stranger. Each call is set up so that, role aside, the caller would be
entitled to it (a bank acts on the vehicle it registered, an issuer revokes its own document), so a
refusal can only come from the role check. The governance entry points of the registry are
refused to every account: only the Consortium calls them, executing a proposal (shown at the end).
"""

import pytest
from brownie import Consortium
from conftest import (
    BANK_ROLE,
    GOVERNANCE_ROLE,
    INSURANCE,
    ISSUER_ROLE,
    REAPPRAISE,
    REMOVE,
    REVOKE_ISSUER_DOCUMENTS,
    SET_MODEL_APPROVAL,
    SUSPEND,
    SYSTEM_ROLE,
    action,
    deploy_proxied,
    founding_arguments,
    govern,
    key,
    now,
    reverts_with,
    sign_document,
)

ACTORS = ["bank", "auditor", "oracle", "issuer", "system", "suspended", "removed", "stranger"]
OWNER = key("owner")
APPRAISAL = 10**7
CID = b"bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi"


@pytest.fixture(scope="module")
def world(consortium, registry, funded):
    """Vehicles, a lien, documents and proposals; then a bank suspended and an issuer removed."""
    banks, issuers = funded.banks, funded.issuers
    actors = {
        "bank": banks[0],
        "auditor": funded.auditor,
        "oracle": funded.oracles[0],
        "issuer": issuers[0],
        "system": funded.candidate,
        "suspended": banks[2],
        "removed": issuers[1],
        "stranger": funded.stranger,
    }
    consortium.bindSystemContracts(
        registry, funded.deployer, actors["system"], {"from": funded.deployer}
    )
    appraised_at = now() - 10
    vehicles = {name: key(f"vehicle:{name}") for name in ("bank", "suspended", "liened")}
    registry.registerVehicle(vehicles["bank"], OWNER, APPRAISAL, appraised_at, {"from": banks[0]})
    registry.registerVehicle(vehicles["liened"], OWNER, APPRAISAL, appraised_at, {"from": banks[0]})
    registry.registerVehicle(
        vehicles["suspended"], OWNER, APPRAISAL, appraised_at, {"from": banks[2]}
    )
    registry.placeLien(vehicles["liened"], banks[0], 9, {"from": actors["system"]})

    documents = {}
    for name, issuer in (("issuer", issuers[0]), ("removed", issuers[1])):
        signature, digest = sign_document(
            issuer, registry.address, vehicles["bank"], INSURANCE, CID, key(name), 1
        )
        registry.anchorDocument(
            vehicles["bank"], INSURANCE, CID, key(name), issuer, 1, signature, {"from": issuer}
        )
        documents[name] = digest

    govern(consortium, action(SUSPEND, banks[2]), banks)
    govern(consortium, action(REMOVE, issuers[1]), banks[:2])
    passed = consortium.propose(
        action(SET_MODEL_APPROVAL, key_=key("model:a"), value=1), {"from": banks[1]}
    )
    for bank in banks[:2]:
        consortium.vote(passed.return_value, True, {"from": bank})
    open_proposal = consortium.propose(
        action(SET_MODEL_APPROVAL, key_=key("model:b"), value=1), {"from": banks[1]}
    )
    return {
        "actors": actors,
        "vehicles": vehicles,
        "documents": documents,
        "passed": passed.return_value,
        "open": open_proposal.return_value,
        "funded": funded,
    }


def own_vehicle(world, actor):
    return world["vehicles"]["suspended" if actor == "suspended" else "bank"]


def own_document(world, actor):
    return world["documents"]["removed" if actor == "removed" else "issuer"]


def anchor_call(registry, world, sender):
    issuer = world["funded"].issuers[0]
    vehicle = world["vehicles"]["bank"]
    content = key(f"content from {sender.address}")
    signature, _ = sign_document(issuer, registry.address, vehicle, INSURANCE, CID, content, 1)
    return registry.anchorDocument(
        vehicle, INSURANCE, CID, content, issuer, 1, signature, {"from": sender}
    )


def fresh_consortium_bind(consortium, registry, world, actor, sender):
    """bindSystemContracts on a fresh, unbound consortium with the same founders."""
    unbound = deploy_proxied(
        Consortium, *founding_arguments(world["funded"]), {"from": world["funded"].deployer}
    )
    return unbound.bindSystemContracts(registry, sender, sender, {"from": sender})


CALLS = {
    "propose": (
        lambda c, r, w, a, s: c.propose(
            action(SET_MODEL_APPROVAL, key_=key("model:c"), value=1), {"from": s}
        ),
        {"bank": None},
        BANK_ROLE,
    ),
    "vote": (lambda c, r, w, a, s: c.vote(w["open"], True, {"from": s}), {"bank": None}, BANK_ROLE),
    "execute": (
        lambda c, r, w, a, s: c.execute(w["passed"], {"from": s}),
        {"bank": None},
        BANK_ROLE,
    ),
    "bindSystemContracts": (fresh_consortium_bind, {}, None),
    "registerVehicle": (
        lambda c, r, w, a, s: r.registerVehicle(
            key("vehicle:new"), OWNER, APPRAISAL, 1, {"from": s}
        ),
        {"bank": None},
        BANK_ROLE,
    ),
    "reappraise": (
        lambda c, r, w, a, s: r.reappraise(
            own_vehicle(w, a), APPRAISAL * 2, now() - 1, {"from": s}
        ),
        {"bank": None},
        BANK_ROLE,
    ),
    "transferOwnership": (
        lambda c, r, w, a, s: r.transferOwnership(own_vehicle(w, a), key("new owner"), {"from": s}),
        {"bank": None},
        BANK_ROLE,
    ),
    "placeLien": (
        lambda c, r, w, a, s: r.placeLien(
            w["vehicles"]["bank"], w["actors"]["bank"], 1, {"from": s}
        ),
        {"system": None},
        SYSTEM_ROLE,
    ),
    "releaseLien": (
        lambda c, r, w, a, s: r.releaseLien(w["vehicles"]["liened"], 9, {"from": s}),
        {"system": None},
        SYSTEM_ROLE,
    ),
    "anchorDocument": (
        lambda c, r, w, a, s: anchor_call(r, w, s),
        {"bank": None, "issuer": None},
        BANK_ROLE,
    ),
    "revokeDocument": (
        lambda c, r, w, a, s: r.revokeDocument(own_document(w, a), {"from": s}),
        {"issuer": None},
        ISSUER_ROLE,
    ),
    "setDocumentKey": (
        lambda c, r, w, a, s: c.setDocumentKey(key(f"x25519:{a}"), {"from": s}),
        {"bank": None, "auditor": None},
        BANK_ROLE,
    ),
    "reappraiseByGovernance": (
        lambda c, r, w, a, s: r.reappraiseByGovernance(own_vehicle(w, a), 1, {"from": s}),
        {},
        GOVERNANCE_ROLE,
    ),
    "revokeIssuerDocuments": (
        lambda c, r, w, a, s: r.revokeIssuerDocuments(w["funded"].issuers[0], now(), {"from": s}),
        {},
        GOVERNANCE_ROLE,
    ),
}


@pytest.mark.parametrize("actor", ACTORS)
@pytest.mark.parametrize("function", list(CALLS))
def test_permission(consortium, registry, world, function, actor):
    call, allowed, needed_role = CALLS[function]
    sender = world["actors"][actor]
    if actor in allowed:
        tx = call(consortium, registry, world, actor, sender)
        assert tx.status == 1
    elif needed_role is None:  # deployer-only
        with reverts_with("ConsortiumNotDeployer", sender):
            call(consortium, registry, world, actor, sender)
    else:
        with reverts_with("ConsortiumUnauthorizedAccount", sender, needed_role):
            call(consortium, registry, world, actor, sender)


def test_matrix_setup_state(consortium, world):
    """The suspended and removed callers really are in that state, so their rows mean something."""
    actors = world["actors"]
    assert consortium.memberOf(actors["suspended"])["status"] == 2
    assert consortium.memberOf(actors["removed"])["status"] == 3
    assert consortium.hasRole(SYSTEM_ROLE, actors["system"])


def test_governance_entry_points_work_through_a_proposal(consortium, registry, world):
    """What no account may call directly, an executed proposal does."""
    banks = world["funded"].banks[:2]
    vehicle, issuer = world["vehicles"]["bank"], world["funded"].issuers[0]
    tx = govern(consortium, action(REAPPRAISE, key_=vehicle, value=APPRAISAL * 3), banks)
    assert tx.events["VehicleReappraised"][0]["bank"] == consortium.address
    assert registry.vehicle(vehicle)["appraisalValue"] == APPRAISAL * 3
    cutoff = now()
    tx = govern(consortium, action(REVOKE_ISSUER_DOCUMENTS, issuer, value=cutoff), banks)
    assert dict(tx.events["IssuerDocumentsRevoked"][0]) == {"issuer": issuer, "cutoff": cutoff}
    assert registry.isDocumentRevoked(world["documents"]["issuer"])
