"""The contracts' enums, mirrored once for every Python caller.

Solidity enums are numbers on the wire (ABI, events, stored data) and the contracts only ever
append to them, so the numbers here never change meaning. Each member's `contract_name` is the
name the contract gives it ("Expired", "ReleaseLien"): what users read in answers and listings.
A test holds these mirrors equal to the compiled interfaces' enums (`build/interfaces`).
"""

from __future__ import annotations

from enum import IntEnum


def solidity_name(python_name: str) -> str:
    """The contract's spelling of a mirrored member: RELEASE_LIEN -> ReleaseLien."""
    return "".join(part.capitalize() for part in python_name.split("_"))


class LoanState(IntEnum):
    """Mirrors `ILoanManager.LoanState`."""

    NONE = 0
    APPLIED = 1
    APPROVED = 2
    ACTIVE = 3
    OVERDUE = 4
    DEFAULTED = 5
    LIQUIDATED = 6
    REPAID = 7
    CLOSED = 8
    REJECTED = 9
    CANCELLED = 10
    EXPIRED = 11  # an approval not disbursed within APPROVAL_TTL; the lien released
    RELEASED = 12  # the lien of a lender no longer active, released by a governance vote

    @property
    def label(self) -> str:
        return solidity_name(self.name)

    @classmethod
    def label_of(cls, value: int | str) -> str:
        """The state's name for a number as events carry it; the number itself if unknown
        (a newer contract than this node), so nothing is hidden."""
        try:
            return cls(int(value)).label
        except ValueError:
            return str(value)


class ActionType(IntEnum):
    """Mirrors `IConsortium.ActionType`: what an executed proposal does."""

    ADMIT_MEMBER = 0
    SUSPEND_MEMBER = 1
    REINSTATE_MEMBER = 2
    REMOVE_MEMBER = 3
    SET_PARAMETER = 4
    SET_MODEL_APPROVAL = 5
    RELEASE_LIEN = 6  # account: the suspended or removed lender, value: the loan id
    REAPPRAISE = 7  # key: the vehicle id, value: the new appraisal (minor units)
    REVOKE_ISSUER_DOCUMENTS = 8  # account: the issuer, value: the cutoff (unix time)
    UPGRADE_CONTRACT = 9  # account: the proxy, key: the new implementation's address

    @property
    def label(self) -> str:
        return solidity_name(self.name)

    @classmethod
    def label_of(cls, value: int | str) -> str:
        try:
            return cls(int(value)).label
        except ValueError:
            return str(value)


class MemberStatus(IntEnum):
    """Mirrors `IConsortium.MemberStatus`."""

    NONE = 0
    ACTIVE = 1
    SUSPENDED = 2
    REMOVED = 3

    @property
    def label(self) -> str:
        return solidity_name(self.name)


class ReviewDecision(IntEnum):
    """Mirrors `IConditionOracle.ReviewDecision`; the API spells it `confirmed_risk`."""

    CONFIRMED_RISK = 0
    FALSE_POSITIVE = 1
    ESCALATED = 2

    @property
    def word(self) -> str:
        return self.name.lower()


class AlertStatus(IntEnum):
    """Mirrors `IConditionOracle.AlertStatus`; the API spells it `lien_ended`."""

    NONE = 0
    OPEN = 1
    RECOVERED = 2
    LIEN_ENDED = 3

    @property
    def word(self) -> str:
        return self.name.lower()
