"""Serving under gunicorn: start and stop servers, generate load, read worker memory.

Load comes from wrk when it is installed, else from a small Python load generator
(threads, one connection per request like wrk against gunicorn's sync workers). Both
stay on the loopback interface and run for a fixed time.
"""

import http.client
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

HOST = "127.0.0.1"
WORKERS = 2
CONNECTIONS = 4
WRK_LINE = re.compile(r"^\s*(50|99)(?:\.0+)?%\s+([\d.]+)(us|ms|s)\s*$", re.MULTILINE)
TIME_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def listening_socket() -> socket.socket:
    """A socket listening on a free loopback port, handed to gunicorn as fd://N: no
    other process can take the port between choosing it and gunicorn's start."""
    listener = socket.socket()
    listener.bind((HOST, 0))
    listener.listen(128)
    return listener


class Gunicorn:
    """`gunicorn -w 2 wsgi:app` on a free loopback port, run from `cwd`."""

    def __init__(self, name: str, app: str, cwd: Path, env: dict[str, str], log: Path):
        self.name = name
        listener = listening_socket()
        self.url = f"http://{HOST}:{listener.getsockname()[1]}"
        command = [
            sys.executable,
            "-m",
            "gunicorn",
            "--workers",
            str(WORKERS),
            "--bind",
            f"fd://{listener.fileno()}",
            "--log-level",
            "warning",
            app,
        ]
        self.log = log.open("w")
        self.process = subprocess.Popen(
            command,
            cwd=cwd,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            pass_fds=[listener.fileno()],
        )
        listener.close()  # gunicorn holds it now

    def wait_until_ready(self, path: str = "/healthz", timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name}: gunicorn exited; see {self.log.name}")
            try:
                with urllib.request.urlopen(self.url + path, timeout=2) as response:
                    if response.status == 200 and len(self.worker_pids()) == WORKERS:
                        return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"{self.name}: not answering {path} after {timeout} s")

    def worker_pids(self) -> list[int]:
        """The master's child processes (the workers), found through /proc."""
        pids = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            # The parent pid is the 2nd field after the command name in parentheses.
            parent = int(stat.rpartition(")")[2].split()[1])
            if parent == self.process.pid:
                pids.append(int(entry.name))
        return sorted(pids)

    def worker_rss_mb(self) -> list[float]:
        sizes = []
        for pid in self.worker_pids():
            status = Path(f"/proc/{pid}/status").read_text()
            kilobytes = int(re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE).group(1))
            sizes.append(kilobytes / 1024)
        return sizes

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


def load_tool() -> str:
    return "wrk" if shutil.which("wrk") else "python"


def run_wrk(url: str, seconds: int) -> dict:
    output = subprocess.run(
        ["wrk", "-t1", f"-c{CONNECTIONS}", f"-d{seconds}s", "--latency", url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    latencies = {
        int(percent): float(value) * TIME_UNITS[unit]
        for percent, value, unit in WRK_LINE.findall(output)
    }
    requests = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    errors = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    socket_errors = re.search(r"Socket errors: (.*)", output)
    return {
        "rps": requests,
        "p50": latencies[50],
        "p99": latencies[99],
        "errors": int(errors.group(1)) if errors else 0,
        "socket_errors": socket_errors.group(1) if socket_errors else "",
    }


def run_python_load(url: str, seconds: int) -> dict:
    """wrk's measurement in Python: CONNECTIONS threads, each request timed end to end."""
    address = url.removeprefix("http://")
    host, _, rest = address.partition(":")
    port, _, path = rest.partition("/")
    path = "/" + path
    latencies: list[float] = []
    errors: list[int] = []
    deadline = time.perf_counter() + seconds

    def client() -> None:
        own_latencies, own_errors = [], 0
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            connection = http.client.HTTPConnection(host, int(port), timeout=10)
            try:
                connection.request("GET", path)
                response = connection.getresponse()
                response.read()
                own_errors += response.status >= 400
            except OSError:
                own_errors += 1
            finally:
                connection.close()
            own_latencies.append((time.perf_counter() - started) * 1000)
        latencies.extend(own_latencies)  # list.extend is atomic: no lock needed
        errors.append(own_errors)

    threads = [threading.Thread(target=client) for _ in range(CONNECTIONS)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "rps": len(latencies) / elapsed,
        "p50": latencies[len(latencies) // 2],
        "p99": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
        "errors": sum(errors),
        "socket_errors": "",
    }


def measure(url: str, seconds: int) -> dict:
    return run_wrk(url, seconds) if load_tool() == "wrk" else run_python_load(url, seconds)


def compare(servers: dict[str, Gunicorn], path: str, rounds: int, seconds: int) -> dict:
    """Requests/s and latency of `path` on each server, in alternating rounds.

    The rounds alternate between the servers, so a burst of background load on the
    machine lands on both rather than on whichever happened to run at the time.
    """
    for server in servers.values():
        measure(server.url + path, seconds)  # warm-up, a round like the others
    samples: dict[str, list[dict]] = {name: [] for name in servers}
    for _ in range(rounds):
        for name, server in servers.items():
            samples[name].append(measure(server.url + path, seconds))
    results = {}
    for name, runs in samples.items():
        rps = [run["rps"] for run in runs]
        results[name] = {
            "rps": statistics.median(rps),
            "rps_min": min(rps),
            "rps_max": max(rps),
            "p50": statistics.median(run["p50"] for run in runs),
            "p99": statistics.median(run["p99"] for run in runs),
            "errors": sum(run["errors"] for run in runs),
            "socket_errors": sorted({run["socket_errors"] for run in runs} - {""}),
        }
    return results


def scrubbed_env(extra: dict[str, str]) -> dict[str, str]:
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("FLASK_", "RATELIMIT_", "MAIL_"))
        and name not in {"APP_ENV", "SECRET_KEY", "DATABASE_URL", "BASE_URL", "PYTHONPATH"}
    }
    env.update(extra)
    return env
