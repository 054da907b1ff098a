"""schemathesis over every operation of a live `eid serve`, with a seeded officer's token.

    .venv/bin/python benchmarks/schemathesis_run.py [--db URL] [--max-examples 30] [--src DIR]

Starts `eid serve` on a scratch database (development seed: registry people and the demo
supervisor), signs the supervisor in, runs schemathesis (examples, coverage, fuzzing and
stateful phases; checks: no 5xx, every status declared) and prints the counts of server errors
and undeclared statuses, per operation. `--src` serves another checkout's `src` (e.g. `main`
exported with `git archive`) to count the same things before a change.
schemathesis is not a project dependency: `pip install schemathesis` into the venv first.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

import httpx
import pyotp

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_db import add_db_option, scratch

CHECKS = "not_a_server_error,status_code_conformance"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(url: str, data_dir: Path, port: int, src: Path | None) -> subprocess.Popen[bytes]:
    env = os.environ | {
        "EID_DATABASE_URL": url,
        "EID_DATA_DIR": str(data_dir),
        "EID_JSON_LOGS": "true",
    }
    if src is not None:
        env["PYTHONPATH"] = str(src)
    log = (data_dir / "server.log").open("wb")
    return subprocess.Popen(
        [sys.executable, "-c", "from eid.cli import main; main()", "serve", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def officer_token(base: str, data_dir: Path) -> str:
    creds = json.loads((data_dir / "demo-officer.json").read_text())
    r = httpx.post(
        f"{base}/api/v1/officer/sessions",
        json={
            "username": creds["username"],
            "password": creds["password"],
            "totp": pyotp.TOTP(creds["totp_secret"]).now(),
        },
        timeout=30,
    )
    r.raise_for_status()
    return str(r.json()["access_token"])


def wait_ready(base: str, server: subprocess.Popen[bytes], data_dir: Path) -> None:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"server exited; see {data_dir / 'server.log'}")
        try:
            if (
                httpx.get(f"{base}/healthz", timeout=2).status_code == 200
                and (data_dir / "demo-officer.json").exists()
            ):
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise SystemExit("server did not start in 180 s")


def summarise(junit: Path) -> dict[str, Counter[str]]:
    """Failing test cases by kind, keyed by 'METHOD /path -> status'."""
    found: dict[str, Counter[str]] = {"server_error": Counter(), "undeclared": Counter()}
    # S314: the report is our own schemathesis run's, written a moment ago.
    for case in ET.parse(junit).getroot().iter("testcase"):  # noqa: S314
        operation = case.get("name", "?")
        for failure in [*case.iter("failure"), *case.iter("error")]:
            text = failure.text or failure.get("message") or ""
            for block in re.split(r"\n(?=\d+\. Test Case ID)", text):
                status = re.search(r"^\[(\d{3})\]", block, re.MULTILINE)
                code = status.group(1) if status else "?"
                if code.startswith("5") or "Server error" in block:
                    found["server_error"][f"{operation} -> {code}"] += 1
                if "Undocumented status code" in block:
                    found["undeclared"][f"{operation} -> {code}"] += 1
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_db_option(parser)
    parser.add_argument("--max-examples", type=int, default=30)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--src", type=Path, help="serve this src folder instead")
    parser.add_argument("--keep", type=Path, help="copy the reports and server log here")
    parser.add_argument("--paths", help="only operations whose path matches this regex")
    parser.add_argument("--max-time", type=int, help="time budget of the run, in seconds")
    args = parser.parse_args()
    schemathesis = Path(sys.executable).parent / "schemathesis"
    if not schemathesis.exists():
        raise SystemExit("install schemathesis into this venv first: pip install schemathesis")

    with scratch(args.db, "eid_schemathesis") as url, tempfile.TemporaryDirectory() as tmp:
        data_dir, port = Path(tmp), free_port()
        base = f"http://127.0.0.1:{port}"
        server = start_server(url, data_dir, port, args.src)
        try:
            wait_ready(base, server, data_dir)
            token = officer_token(base, data_dir)
            started = time.monotonic()
            narrowing = [
                *(["--include-path-regex", args.paths] if args.paths else []),
                *(["--max-time", str(args.max_time)] if args.max_time else []),
            ]
            run = subprocess.run(
                [
                    str(schemathesis),
                    "run",
                    f"{base}/openapi.json",
                    *narrowing,
                    "--header",
                    f"Authorization: Bearer {token}",
                    "--checks",
                    CHECKS,
                    "--phases",
                    "examples,coverage,fuzzing,stateful",
                    "--max-examples",
                    str(args.max_examples),
                    "--seed",
                    str(args.seed),
                    "--workers",
                    "2",
                    "--request-timeout",
                    "30",
                    "--continue-on-failure",
                    "--generation-allow-x00",
                    "true",
                    "--suppress-health-check",
                    "all",
                    "--report",
                    "junit",
                    "--report-dir",
                    str(data_dir / "report"),
                    "--no-color",
                ],
                capture_output=True,
                text=True,
                check=False,
            )
            elapsed = time.monotonic() - started
            (data_dir / "schemathesis.out").write_text(run.stdout + run.stderr)
            junit = next((data_dir / "report").glob("*.xml"))
            found = summarise(junit)
        finally:
            server.terminate()
            server.wait(timeout=30)
            if args.keep:
                args.keep.mkdir(parents=True, exist_ok=True)
                for name in ("server.log", "schemathesis.out"):
                    if (data_dir / name).exists():
                        shutil.copy(data_dir / name, args.keep / name)
                if (data_dir / "report").exists():
                    shutil.copytree(data_dir / "report", args.keep / "report", dirs_exist_ok=True)

    tail = [line for line in run.stdout.splitlines() if line.strip()][-6:]
    print("\n".join(tail))
    print(f"\nschemathesis ran {elapsed:.0f} s (exit {run.returncode})")
    for kind, label in (("server_error", "5xx"), ("undeclared", "undeclared statuses")):
        failures = found[kind]
        print(f"{label}: {len(failures)} operation/status pairs")
        for key, count in sorted(failures.items()):
            print(f"  {key}  ({count}x)")


if __name__ == "__main__":
    main()
