"""The default transport: devices are objects in this process, called one after another."""

from __future__ import annotations

from collections.abc import Callable

from federated.client import Device
from federated.transports.base import Job, Reply, Transport


class InProcessTransport(Transport):
    def __init__(self, make_device: Callable[[int], Device]) -> None:
        self.make_device = make_device
        self.devices: dict[int, Device] = {}

    def device(self, i: int) -> Device:
        if i not in self.devices:
            self.devices[i] = self.make_device(i)
        return self.devices[i]

    def train_round(self, jobs: list[Job]) -> list[Reply]:
        replies = []
        for job in jobs:
            try:
                up, metrics = self.device(job.device).train(job.msg, job.config)
            except Exception as e:  # a device failing is an event of the round, not of the server
                replies.append(Reply(job.device, error=f"{type(e).__name__}: {e}"))
                continue
            replies.append(Reply(job.device, up, metrics))
        return replies
