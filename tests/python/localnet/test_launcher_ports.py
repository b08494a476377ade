"""A second `make run` (or any program) on the local consortium's ports: the launcher stops
before it starts or deploys anything, and names the port."""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path

from localnet.as_subprocess import free_base_port
from localnet.layout import Layout
from vcl.localchain import REPO_ROOT

VCL = REPO_ROOT / ".venv/bin/vcl"


def test_a_port_in_use_stops_the_launcher_before_anything_is_deployed(tmp_path: Path) -> None:
    base = free_base_port()
    layout = Layout(tmp_path / "dev", base)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", base + 1))  # where bank-a's node would listen
        taken.listen()
        done = subprocess.run(
            [
                str(VCL),
                "localnet",
                "up",
                "--state-dir",
                str(layout.state_dir),
                "--base-port",
                str(base),
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            cwd=REPO_ROOT,
        )
    assert done.returncode == 1, done.stderr
    assert f"port {base + 1} (bank-a's node) in use" in done.stderr
    assert "--base-port" in done.stderr
    assert "Traceback" not in done.stderr
    assert not layout.deployment_file.exists()
    assert not layout.anvil_state.exists()
