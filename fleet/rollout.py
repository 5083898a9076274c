"""Staged rollout of one package: stages of devices (e.g. ``5,25%,100%``: 5 devices, then up to a
quarter of them, then all), each stage waited for; the rollout stops before the next stage when
failures (failed, rolled back or no answer in time) exceed a share of the finished jobs, once a
minimum number has finished. Devices of later stages never get the job and keep what they run.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

from fleet import protocol
from fleet.manager import Manager
from fleet.package import Package
from tte.errors import TteError

FAILED = ("failed", "rolled_back")


def parse_stages(spec: str, total: int) -> list[int]:
    """Cumulative device counts per stage: '5,25%,100%' of 200 -> [5, 50, 200]; of 10 -> [5, 10]
    (a percentage that is fewer devices than an earlier count adds no stage)."""
    out: list[int] = []
    last: dict[bool, float] = {}
    for part in spec.split(","):
        part = part.strip()
        pct = part.endswith("%")
        try:
            v = float(part[:-1]) if pct else int(part)
        except ValueError:
            raise TteError(f"stage '{part}' is neither a count nor a percentage (e.g. 5,25%,100%)") from None
        if v <= 0:
            raise TteError(f"stage '{part}' has no devices")
        if v < last.get(pct, 0):
            raise TteError(f"stages must grow: '{part}' is smaller than an earlier stage")
        last[pct] = v
        n = min(total, math.ceil(v / 100 * total) if pct else int(v))
        if not out or n > out[-1]:
            out.append(n)
    if out[-1] != total:
        out.append(total)
    return out


def parse_share(spec: str) -> float:
    """'10%' or '0.1' -> 0.1."""
    try:
        v = float(spec[:-1]) / 100 if spec.endswith("%") else float(spec)
    except ValueError:
        raise TteError(f"failure threshold '{spec}' is not a share (e.g. 10%)") from None
    if not 0 <= v <= 1:
        raise TteError(f"failure threshold '{spec}' is outside 0..100%")
    return v


@dataclass
class Rollout:
    job: str
    package: dict[str, Any]
    stages: list[dict[str, Any]] = field(default_factory=list)
    aborted: bool = False
    reason: str = ""
    states: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        counts: dict[str, int] = {}
        for s in self.states.values():
            counts[s] = counts.get(s, 0) + 1
        return {"job": self.job, "build_id": self.package["build_id"], "model": self.package["model"],
                "aborted": self.aborted, "reason": self.reason, "stages": self.stages, "counts": counts,
                "states": self.states, "seconds": round(self.seconds, 3)}


def deploy(manager: Manager, package: Package, devices: list[str], *, stages: str = "100%",
           abort_failures: str | float = "10%", min_executions: int = 3, block_size: int = protocol.DEFAULT_BLOCK,
           stage_timeout: float = 120.0, job_id: str | None = None, stream: bool = True) -> Rollout:
    """`stream`: a stage of more than one device gets the package's blocks once on its package
    stream (the broker copies them to each device), then each device asks for what it misses."""
    if not devices:
        raise TteError("no devices to deploy to")
    threshold = parse_share(abort_failures) if isinstance(abort_failures, str) else float(abort_failures)
    plan = parse_stages(stages, len(devices))
    job = protocol.check_name("job", job_id or f"{package.build_id[:40]}-{int(time.time())}")
    result = Rollout(job, package.manifest)
    t0 = time.monotonic()
    done = 0
    for k, upto in enumerate(plan):
        group = devices[done:upto]
        fanout = stream and len(group) > 1
        for d in group:
            manager.offer(package, d, job, block_size, stream=fanout)
            result.states[d] = "sent"
        if fanout:
            manager.broadcast(package, group, block_size)
        deadline = time.monotonic() + stage_timeout
        while time.monotonic() < deadline:
            with manager.lock:
                if all(manager.jobs[d].final for d in group):
                    break
            time.sleep(0.02)
        with manager.lock:
            for d in group:
                j = manager.jobs[d]
                result.states[d] = j.state if j.final else f"timed_out ({j.state})"
        done = upto
        finished = [s for d, s in result.states.items()]
        failures = sum(1 for s in finished if s in FAILED or s.startswith("timed_out"))
        result.stages.append({"stage": k + 1, "devices": len(group), "cumulative": upto, "failures": failures,
                              "finished": len(finished), "seconds": round(time.monotonic() - t0, 3)})
        if len(finished) >= min_executions and failures / len(finished) > threshold and upto < len(devices):
            result.aborted = True
            result.reason = (f"{failures} of {len(finished)} jobs failed ({100 * failures / len(finished):.0f} % > "
                             f"{100 * threshold:.0f} %) after stage {k + 1}: {len(devices) - upto} devices not updated")
            manager.event("rollout", None, "", result.reason, job=job)
            break
    result.seconds = time.monotonic() - t0
    return result
