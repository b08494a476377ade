"""Who is in the local consortium and where each part lives: ports and directories."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from node_api.api_keys import Role

DEFAULT_STATE_DIR = Path("var/dev")
DEFAULT_BASE_PORT = 8545


@dataclass(frozen=True)
class NodeSpec:
    name: str
    role: str  # shown in the table and consortium.json
    account_index: int  # anvil account: the dev founders of vcl.deploy
    port_offset: int
    key_role: Role  # the API key handed to the operator
    reviewer_key: bool = False  # banks also get a reviewer key, to review alerts


NODES: tuple[NodeSpec, ...] = (
    NodeSpec("bank-a", "bank", 1, 1, Role.ADMIN, reviewer_key=True),
    NodeSpec("bank-b", "bank", 2, 2, Role.ADMIN, reviewer_key=True),
    NodeSpec("auditor", "auditor", 3, 3, Role.AUDITOR),
    NodeSpec("issuer", "document issuer", 7, 4, Role.OFFICER),
)
ORACLE_OPERATORS = (4, 5, 6, 8)  # anvil accounts (quorum 3 of 4); the first transmits
ORACLE_METRICS_OFFSET = 5


@dataclass(frozen=True)
class Layout:
    state_dir: Path
    base_port: int

    @property
    def rpc_url(self) -> str:
        return f"http://127.0.0.1:{self.base_port}"

    @property
    def anvil_state(self) -> Path:
        return self.state_dir / "anvil-state.json"

    @property
    def anvil_home(self) -> Path:
        """anvil's HOME: where it writes block states past its memory budget (this run's)."""
        return self.state_dir / "anvil-home"

    @property
    def deployment_file(self) -> Path:
        return self.state_dir / "deployments.json"

    @property
    def log_dir(self) -> Path:
        return self.state_dir / "logs"

    @property
    def fleet_dir(self) -> Path:
        return self.state_dir / "fleet"

    @property
    def consortium_file(self) -> Path:
        return self.state_dir / "consortium.json"

    @property
    def demo_progress_file(self) -> Path:
        return self.state_dir / "demo-progress.json"

    @property
    def oracle_dir(self) -> Path:
        return self.state_dir / "oracle"

    @property
    def oracle_metrics_port(self) -> int:
        return self.base_port + ORACLE_METRICS_OFFSET

    def node_dir(self, node: NodeSpec) -> Path:
        return self.state_dir / node.name

    def node_port(self, node: NodeSpec) -> int:
        return self.base_port + node.port_offset

    def ports(self) -> dict[str, int]:
        """Every port the local consortium listens on, by what listens there."""
        return {
            "the chain": self.base_port,
            **{f"{node.name}'s node": self.node_port(node) for node in NODES},
            "the oracle's metrics": self.oracle_metrics_port,
        }

    def node_url(self, node: NodeSpec) -> str:
        return f"http://127.0.0.1:{self.node_port(node)}"
