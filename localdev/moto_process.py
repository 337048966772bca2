"""moto's server in a process of its own: `python -m localdev.moto_process` prints its endpoint.

Under a long, steady load (`make soak`) the orchestrator's threads (the feeder, the simulator,
the receiver, the intake) would share one interpreter lock with moto and slow every AWS call
past the clients' read timeouts; in its own process moto gets a core of its own, as AWS would.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


class MotoProcess:
    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "localdev.moto_process"], cwd=ROOT, stdout=subprocess.PIPE, text=True
        )
        assert self.process.stdout is not None
        self.endpoint = self.process.stdout.readline().strip()
        if not self.endpoint.startswith("http://127.0.0.1:"):
            self.process.kill()
            raise RuntimeError(f"moto did not start: {self.endpoint!r}")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)


def main() -> None:
    import logging

    from localdev.aws import start_moto

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's server logs every request
    _, endpoint = start_moto()
    print(endpoint, flush=True)
    threading.Event().wait()  # until terminated


if __name__ == "__main__":
    main()
