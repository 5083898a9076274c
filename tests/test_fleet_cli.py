"""`tte fleet` end to end, each command its own process on a real Mosquitto: broker, serve, two device
agents (MQTT 3.1.1 and 5), status, a deploy; user errors exit 2 with one line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from fleetkit import ROOT, package_dir, wait_until

ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


def tte(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tte.cli", *args], capture_output=True, text=True, cwd=ROOT,
                          env=ENV, timeout=timeout)


def background(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "tte.cli", *args], cwd=ROOT, env=ENV, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def test_fleet_cli_session(tmp_path: Path) -> None:
    bdir = str(tmp_path / "broker")
    r = tte("fleet", "broker", "--dir", bdir, "--fleet", "lab", "--device", "d1", "--device", "d2", "--write-only")
    assert r.returncode == 0, r.stderr
    procs = [background("fleet", "broker", "--dir", bdir)]
    try:
        procs.append(background("fleet", "serve", "--broker-dir", bdir, "--store", str(tmp_path / "kg")))
        for d, version in (("d1", "3.1.1"), ("d2", "5")):
            procs.append(background("fleet", "device", "--broker-dir", bdir, "--id", d, "--engine", "none",
                                    "--state", str(tmp_path / d), "--board", "rp2040", "--mqtt", version))

        def status() -> dict | None:
            r = tte("fleet", "status", "--broker-dir", bdir, "--json")
            return json.loads(r.stdout) if r.returncode == 0 else None
        st = wait_until(lambda: (s := status()) and s["kg_devices"] == 2 and s["online"] == 2 and s, 60, step=0.5)
        assert st and st["fleet"] == "lab", st
        r = tte("fleet", "deploy", str(package_dir(tmp_path / "pkg")), "--broker-dir", bdir, "--json")
        assert r.returncode == 0, r.stdout + r.stderr
        out = json.loads(r.stdout)
        assert out["states"] == {"d1": "applied", "d2": "applied"} and not out["aborted"]
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in procs:
            p.wait(timeout=20)


@pytest.mark.parametrize("args, needle", [
    (["fleet", "broker", "--dir", "{tmp}/b", "--device", "bad id!", "--write-only"], "invalid device name"),
    (["fleet", "status", "--broker-dir", "{tmp}/nowhere"], "not a broker directory"),
    (["fleet", "deploy", "{tmp}", "--broker-dir", "{tmp}/nowhere"], "not a broker directory"),
])
def test_user_errors_exit_2(tmp_path: Path, args: list[str], needle: str) -> None:
    r = tte(*[a.format(tmp=tmp_path) for a in args])
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert needle in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert not (tmp_path / "b" / "mosquitto.conf").exists()


def test_fleet_demo() -> None:
    r = tte("fleet", "demo", "--devices", "3")
    assert r.returncode == 0, r.stdout + r.stderr
    lines = r.stdout.strip().splitlines()
    assert len(lines) == 5, lines
    assert "3 devices registered" in lines[1]
    assert '{"applied": 3}' in lines[2]
    assert "3 devices trained" in lines[3]
    assert "2 online, 1 lost, 0 error events" in lines[4]
