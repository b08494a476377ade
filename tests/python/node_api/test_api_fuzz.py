"""Schemathesis against a real node API process: generated requests for every operation of
its OpenAPI document; no 5xx, and every response matches the documented status codes,
content types and schemas.

Schemathesis lives in its own environment (`.tools/schemathesis`, from
`tools/schemathesis.lock`) because Brownie pins an older Hypothesis; `make test` installs it.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import api_server
import pytest
from api_server import NodeProcess

from node_api.api_keys import Role
from vcl.localchain import REPO_ROOT

SCHEMATHESIS = REPO_ROOT / ".tools/schemathesis/bin/st"
CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_schema_conformance",
    ]
)
EXAMPLES_PER_OPERATION = 60
RUN_TIMEOUT_S = 600

bank_node = api_server.bank_node
deployment = api_server.deployment


def fuzz(node: NodeProcess, role: Role, report_dir: Path) -> subprocess.CompletedProcess[str]:
    if not SCHEMATHESIS.exists():
        pytest.fail(f"{SCHEMATHESIS} is missing: run `make setup` first", pytrace=False)
    return subprocess.run(
        [
            str(SCHEMATHESIS),
            "run",
            f"{node.url}/openapi.json",
            "--header",
            f"Authorization: Bearer {node.keys[role]}",
            "--checks",
            CHECKS,
            "--max-examples",
            str(EXAMPLES_PER_OPERATION),
            "--generation-deterministic",
            "--seed",
            "20261129",
            "--request-timeout",
            "30",
            # The dashboard's static files are not part of the JSON API.
            "--exclude-path-regex",
            "^/dashboard",
            "--report",
            "junit",
            "--report-dir",
            str(report_dir),
            "--no-color",
        ],
        check=False,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
        cwd=REPO_ROOT,
    )


@pytest.mark.parametrize("role", [Role.OFFICER, Role.AUDITOR])
def test_generated_requests_get_no_server_error_and_match_the_schema(
    bank_node: NodeProcess, role: Role, tmp_path: Path
) -> None:
    result = fuzz(bank_node, role, tmp_path)
    assert result.returncode == 0, (
        f"schemathesis found failures as {role.value}:\n{result.stdout[-8000:]}\n"
        f"{result.stderr[-2000:]}\nserver log tail:\n{bank_node.log()[-3000:]}"
    )
    # A run that tested nothing must not pass: the summary names the operations it tested.
    assert "passed" in result.stdout.lower()
