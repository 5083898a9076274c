"""Presence and registration on a real Mosquitto: devices appear in the knowledge graph, a hung
device turns `lost` within 1.5 x keepalive, a late will never marks a reconnected device lost,
and bad messages become error events while the manager keeps working."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import pytest
from fleetkit import Probe, agent_config, agent_process, device_status, running_broker, start_manager, wait_until

from fleet import protocol
from fleet.agent import Agent

TTE = "https://tte.invalid/ns#"


@pytest.mark.parametrize("version", ["3.1.1", "5"])
def test_devices_register_with_their_td(tmp_path: Path, version: str) -> None:
    """On MQTT 3.1.1 and on MQTT 5 (manager and agents alike)."""
    devices = ["d1", "d2", "d3"]
    with running_broker(tmp_path / "broker", devices) as b:
        m = start_manager(b.config, mqtt_version=version)
        agents = [Agent(agent_config(b.config, d, tmp_path / d, board="rp2040", sensors=["accelerometer"],
                                     mqtt_version=version)) for d in devices]
        for a in agents:
            a.start()
        assert wait_until(lambda: len(m.registered) == 3 and len(m.tds) == 3, 10)
        rows = m.store.select(f"""SELECT DISTINCT ?id ?board ?label WHERE {{ ?d a <{TTE}Device> ;
            <https://schema.org/identifier> ?id ; <{TTE}onBoard> ?board ;
            <http://www.w3.org/ns/ssn/hasSubSystem>/<http://www.w3.org/2000/01/rdf-schema#label> ?label }}""")
        assert sorted((r["id"], r["board"], r["label"]) for r in rows) == [
            (d, "urn:tte:board:rp2040", "accelerometer") for d in devices]
        assert wait_until(lambda: all(device_status(m.store, d) == "online" for d in devices), 5)
        # the TD's forms name the fleet's real topics
        hrefs = {r["h"] for r in m.store.select("SELECT ?h WHERE { GRAPH <urn:tte:device:d1/td> { "
                                                "?f <https://www.w3.org/2019/wot/hypermedia#hasTarget> ?h } }")}
        assert {protocol.topic("f1", "d1", k) for k in ("job", "telemetry", "state")} <= hrefs, hrefs
        agents[0].stop()
        assert wait_until(lambda: device_status(m.store, "d1") == "offline", 5)
        agents[1].crash()  # no DISCONNECT: the broker sends the will at once (TCP closed)
        assert wait_until(lambda: device_status(m.store, "d2") == "lost", 5)
        assert not m.errors(), m.errors()
        agents[2].stop()
        m.stop()


def test_hung_device_lost_and_late_will_ignored(tmp_path: Path) -> None:
    keepalive = 2
    with running_broker(tmp_path / "broker", ["d1"]) as b:
        m = start_manager(b.config)
        acfg = agent_config(b.config, "d1", tmp_path / "d1", keepalive=keepalive)
        p1 = agent_process(acfg, tmp_path)
        try:
            assert wait_until(lambda: device_status(m.store, "d1") == "online", 10)
            bdseq1 = m.presence["d1"]["bdseq"]
            # a hang (no FIN, no pings): the broker gives up after 1.5 x keepalive and sends the will
            p1.send_signal(signal.SIGSTOP)
            t0 = time.monotonic()
            assert wait_until(lambda: device_status(m.store, "d1") == "lost", 3 * keepalive)
            lost_after = time.monotonic() - t0
            assert lost_after <= 1.5 * keepalive + 0.5, lost_after
            # the same device comes back while its old connection still hangs; that old will comes late
            p1.send_signal(signal.SIGCONT)
            time.sleep(0.1)
            p1.send_signal(signal.SIGSTOP)  # hung again, its connection already gone or about to be
            p2 = agent_process(acfg, tmp_path)
            try:
                assert wait_until(lambda: m.presence["d1"]["bdseq"] > bdseq1 and device_status(m.store, "d1")
                                  == "online", 10)
                time.sleep(1.5 * keepalive + 1)  # any late will of connection 1 has fired by now
                assert device_status(m.store, "d1") == "online"
                probe = Probe(b.config, "manager")
                probe.connect()
                probe.subscribe(protocol.topic("f1", "d1", "state"))
                retained = probe.wait_for(lambda msg: True, timeout=3)
                assert retained is not None and json.loads(retained.payload)["state"] == "online"
                probe.close()
            finally:
                p2.kill()
                p2.wait()
        finally:
            p1.kill()
            p1.wait()
        m.stop()


def test_late_will_of_an_old_connection(tmp_path: Path) -> None:
    """A will with an older bdseq, arriving after the newer birth, changes nothing."""
    with running_broker(tmp_path / "broker", ["d1"]) as b:
        m = start_manager(b.config)
        a = Agent(agent_config(b.config, "d1", tmp_path / "d1"))
        a.start()
        assert wait_until(lambda: device_status(m.store, "d1") == "online", 10)
        seq = m.presence["d1"]["bdseq"]
        dev = Probe(b.config, "d1")
        dev.connect()
        dev.publish(protocol.topic("f1", "d1", "state"), protocol.encode("state", {"state": "lost", "bdseq": seq - 1}),
                    retain=True)
        assert wait_until(lambda: any(e["type"] == "stale" for e in m.events), 5)
        assert device_status(m.store, "d1") == "online"
        # the agent saw its own state overwritten and published its birth again
        probe = Probe(b.config, "manager")
        probe.connect()
        time.sleep(0.3)
        probe.subscribe(protocol.topic("f1", "d1", "state"))
        got = probe.wait_for(lambda msg: True, timeout=3)
        assert got is not None and json.loads(got.payload) == {"state": "online", "bdseq": seq}
        for p in (dev, probe):
            p.close()
        a.stop()
        m.stop()


def test_bad_messages_are_error_events_and_the_manager_survives(tmp_path: Path) -> None:
    with running_broker(tmp_path / "broker", ["d1", "d2", "d3"]) as b:
        m = start_manager(b.config)
        d1 = Probe(b.config, "d1")
        d1.connect()
        t = lambda kind: protocol.topic("f1", "d1", kind)  # noqa: E731
        cases = {
            "malformed JSON": (t("telemetry"), b"{not json"),
            "oversize": (t("telemetry"), b'{"steps": 1, "pad": "' + b"x" * (protocol.MAX_CONTROL_BYTES + 10) + b'"}'),
            "schema": (t("register"), b'{"board": 5, "bdseq": 1}'),
            "bitmap": (t("stream/get"), json.dumps({"sha256": "0" * 64, "block_size": 4096, "offset": 0,
                                                    "bitmap": "!!"}).encode()),
            "unknown job": (t("job/status"), b'{"job": "j1", "seq": 1, "state": "applied"}'),
            "SHACL": (t("register"), b'{"board": "no-such-board", "bdseq": 1}'),
            "bad TD": (t("td"), b'{"@context": "x", "id": "urn:tte:device:d1", "title": "d1"}'),
        }
        # one at a time, each answered by its own error event before the next goes out
        for name, (topic, payload) in cases.items():
            before = len(m.errors())
            d1.publish(topic, payload)
            assert wait_until(lambda n=before: len(m.errors()) > n, 30), (name, m.errors())
        msgs = " | ".join(e["message"] for e in m.errors())
        for needle in ("malformed JSON", "oversize", "is not of type", "base64", "unknown job", "unknown board",
                       "@context"):
            assert needle in msgs, (needle, msgs)
        # out-of-order job status: a deploy job, then seq going backwards
        from fleet.manager import JobState

        m.jobs["d1"] = JobState("j2", "d1", "0" * 64, b"")
        d1.publish(t("job/status"), b'{"job": "j2", "seq": 2, "state": "downloading"}')
        d1.publish(t("job/status"), b'{"job": "j2", "seq": 1, "state": "queued"}')
        # a state may skip ahead (an earlier status can arrive late) but never go back
        d1.publish(t("job/status"), b'{"job": "j2", "seq": 3, "state": "queued"}')
        assert wait_until(lambda: any("out-of-order" in e["message"] for e in m.errors())
                          and any("cannot follow" in e["message"] for e in m.errors()), 5), m.errors()
        assert m.jobs["d1"].state == "downloading"
        # still working: a good device registers after all that
        a = Agent(agent_config(b.config, "d2", tmp_path / "d2"))
        a.start()
        assert wait_until(lambda: "d2" in m.registered and device_status(m.store, "d2") == "online", 10)
        assert "d1" not in m.registered
        a.stop()
        d1.close()
        m.stop()
