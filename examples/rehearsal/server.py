"""The example service as the rehearsal runs it: uvicorn with several worker processes on
127.0.0.1 only, its workers found, one of them killed, the whole stopped.

uvicorn's supervisor replaces a worker that dies (its health check), which is what lets the
rehearsal SIGKILL one mid-load and watch the service carry on.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

APP = "examples.app.service:app"
#: The checkout holding `examples/`: child processes import the app and the toolkit from it.
REPO = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"  # loopback only: the rehearsal never listens on another address


def child_env(**extra: str) -> dict[str, str]:
    """This process's environment, with the checkout first on PYTHONPATH (whatever the working
    directory, the children import this code) and `extra` added."""
    path = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p)
    return dict(os.environ, PYTHONPATH=path, **extra)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


class Service:
    """One uvicorn supervisor and its workers, serving the stores at `json_dir` and `db`."""

    def __init__(self, json_dir: Path, db: str, *, workers: int, log: Path) -> None:
        self.port = free_port()
        self.workers = workers
        env = child_env(SESSIONS_JSON_DIR=str(json_dir), SESSIONS_DB=db)
        command = [
            sys.executable,
            "-m",
            "uvicorn",
            APP,
            "--host",
            HOST,
            "--port",
            str(self.port),
            "--workers",
            str(workers),
            "--log-level",
            "warning",
            "--timeout-graceful-shutdown",
            "5",
        ]
        self._log = log.open("ab")
        self.process = subprocess.Popen(command, env=env, stdout=self._log, stderr=self._log)

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Until every worker answers (their pids seen through /health)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the service exited with {self.process.returncode}")
            if len(self.serving_pids()) >= self.workers:
                return
            time.sleep(0.2)
        raise RuntimeError(f"the service did not start {self.workers} workers in {timeout:g} s")

    def worker_pids(self) -> list[int]:
        """The supervisor's live child processes that run the app (from /proc)."""
        pid = self.process.pid
        try:
            children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        except OSError:
            return []
        workers = []
        for child in map(int, children):
            try:
                cmdline = Path(f"/proc/{child}/cmdline").read_bytes()
                state = Path(f"/proc/{child}/stat").read_text().rsplit(")", 1)[1].split()[0]
            except OSError:
                continue
            if b"resource_tracker" not in cmdline and state != "Z":
                workers.append(child)
        return workers

    def serving_pids(self) -> set[int]:
        """Worker pids that answered /health, among the live workers."""
        live = set(self.worker_pids())
        seen: set[int] = set()
        with httpx.Client(base_url=self.url, timeout=2.0) as http:
            for _ in range(4 * self.workers):
                try:
                    # A new connection each time, so the kernel may hand it to any worker.
                    response = http.get("/health", headers={"Connection": "close"})
                    seen.add(int(response.json()["pid"]))
                except (httpx.HTTPError, ValueError, KeyError):
                    continue
        return seen & live if len(live) >= self.workers else set()

    def kill_worker(self) -> int:
        """SIGKILL one worker; its pid."""
        victim = self.worker_pids()[0]
        os.kill(victim, signal.SIGKILL)
        return victim

    def wait_replaced(self, dead: int, timeout: float = 60.0) -> int:
        """Until the supervisor has started a new worker in place of `dead`; the new pid."""
        deadline = time.monotonic() + timeout
        before = set(self.worker_pids()) - {dead}
        while time.monotonic() < deadline:
            now = set(self.worker_pids())
            fresh = now - before - {dead}
            if dead not in now and len(now) >= self.workers and fresh:
                return fresh.pop()
            time.sleep(0.1)
        raise RuntimeError(f"worker {dead} was not replaced within {timeout:g} s")

    def stop(self) -> None:
        """SIGTERM to the supervisor (it stops its workers), SIGKILL after 30 s."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                for pid in self.worker_pids():
                    os.kill(pid, signal.SIGKILL)
                self.process.kill()
                self.process.wait()
        self._log.close()
