"""The Thing Description a device agent publishes (retained) about itself: W3C WoT TD 1.1 whose
forms are the fleet's MQTT topics (fleet.protocol), so a TD consumer finds the real endpoints."""

from __future__ import annotations

from typing import Any

from fleet import protocol

TD_CONTEXT_URL = "https://www.w3.org/2022/wot/td/v1.1"
TTE_NS = "https://tte.invalid/ns#"
SOSAX_NS = "https://w3id.org/tinyml-schema/neural-network-schema/sosa_extend/"


def _form(fleet: str, device: str, kind: str, ops: list[str]) -> dict[str, Any]:
    return {"href": protocol.topic(fleet, device, kind), "op": ops, "contentType": "application/json"}


def device_td(fleet: str, device: str, board: str, sensors: list[str] | tuple[str, ...] = (),
              firmware: str | None = None, base: str = "mqtt://localhost:1883/") -> dict[str, Any]:
    props: dict[str, Any] = {
        "state": {"title": "Presence (online, offline, lost) with the birth sequence number", "type": "object",
                  "readOnly": True, "observable": True,
                  "forms": [_form(fleet, device, "state", ["readproperty", "observeproperty"])]},
        "registration": {"title": "Board, sensors, firmware and running build", "type": "object",
                         "readOnly": True, "observable": True,
                         "forms": [_form(fleet, device, "register", ["readproperty", "observeproperty"])]},
    }
    td: dict[str, Any] = {
        "@context": [TD_CONTEXT_URL, {"tte": TTE_NS, "sosax": SOSAX_NS}],
        "@type": ["Thing", "tte:Device"],
        "id": f"urn:tte:device:{protocol.check_name('device', device)}",
        "title": device,
        "description": f"tte device on board {board}" + (f", sensors: {', '.join(sensors)}" if sensors else ""),
        "base": base,
        "securityDefinitions": {"basic_sc": {"scheme": "basic", "in": "header"}},
        "security": ["basic_sc"],
        "properties": props,
        "actions": {
            "deploy": {"title": "Deploy a signed compiled package (chunked, resumable)",
                       "input": {"type": "object", "required": ["job", "package", "signature", "block_size"]},
                       "forms": [_form(fleet, device, "job", ["invokeaction"])]},
            "train": {"title": "A federated training round on the device's own data",
                      "input": {"type": "object", "required": ["round", "config", "model"]},
                      "forms": [_form(fleet, device, "fed/task", ["invokeaction"])]},
        },
        "events": {
            "telemetry": {"title": "Steps, loss, accuracy and RAM", "data": {"type": "object"},
                          "forms": [_form(fleet, device, "telemetry", ["subscribeevent", "unsubscribeevent"])]},
            "jobStatus": {"title": "Deployment job state", "data": {"type": "object"},
                          "forms": [_form(fleet, device, "job/status", ["subscribeevent", "unsubscribeevent"])]},
        },
    }
    if firmware:
        td["version"] = {"instance": firmware}
    return td
