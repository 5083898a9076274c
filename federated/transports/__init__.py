"""Transports: in-process (default) and Flower (``federated.transports.flower``)."""

from federated.transports.base import Job, Reply, Transport
from federated.transports.inprocess import InProcessTransport

__all__ = ["InProcessTransport", "Job", "Reply", "Transport"]
