"""One exception tree for the core package: callers catch `VclError` or a precise subclass."""

from __future__ import annotations

from typing import Any


class VclError(Exception):
    """Base of every error the core package raises on purpose."""


class ConfigError(VclError):
    """The settings are missing, contradictory or unsafe for the chosen mode."""


class ArtifactError(VclError):
    """A compiled contract is missing or unreadable: run `make compile`."""


class DeploymentError(VclError):
    """The deployment record has no address for a contract on this chain."""


class ChainUnavailable(VclError):
    """The RPC endpoint does not answer, or answers for the wrong chain."""


class ChainIdMismatch(ChainUnavailable):
    """The node serves another chain than the settings name (`VCL_CHAIN_ID`)."""

    def __init__(self, rpc_url: str, expected: int, actual: int) -> None:
        self.expected = expected
        self.actual = actual
        super().__init__(
            f"{rpc_url} serves chain id {actual}, settings say {expected} (VCL_CHAIN_ID): "
            "refusing to sign for another chain"
        )


class TransactionError(VclError):
    """A transaction could not be built, sent or confirmed."""


class TransactionReverted(TransactionError):
    """The EVM reverted a call or transaction; the reason is decoded when the ABI knows it.

    `error_name` is the custom error's name ("RegistryLienExists"), "Error" for a
    require string, "Panic" for an assertion failure, or "" when undecodable. `raw` is the
    error as the contract gave it (`LoanNotYetDue(30, 1799264158)`), `explanation` a sentence
    for a person (`vcl.error_messages`); the message shows both, the sentence first.
    """

    def __init__(
        self,
        error_name: str,
        args: tuple[Any, ...],
        *,
        data: str = "",
        tx_hash: str | None = None,
    ) -> None:
        # Imported at the first revert, not with this module: the catalogue reads the governed
        # parameters from vcl.deploy (web3), which imports this module, and `vcl --help`
        # imports this module without loading web3.
        from vcl.error_messages import explain  # noqa: PLC0415

        self.error_name = error_name
        self.args_decoded = args
        self.data = data
        self.tx_hash = tx_hash
        if error_name:
            self.raw = f"{error_name}({', '.join(_show(a) for a in args)})"
        else:
            self.raw = f"undecoded revert {data or '(no data)'}"
        self.explanation = explain(error_name, args)
        where = f" in transaction {tx_hash}" if tx_hash else ""
        super().__init__(f"{self.explanation} (reverted{where}: {self.raw})")


class ReceiptTimeout(TransactionError):
    """A sent transaction was not mined in time; it may still be mined later."""

    def __init__(self, tx_hash: str, seconds: float) -> None:
        self.tx_hash = tx_hash
        super().__init__(f"transaction {tx_hash} not mined within {seconds:.0f} s")


def _show(value: Any) -> str:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    return repr(value)
