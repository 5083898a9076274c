"""Deployments on a real Mosquitto: chunked, verified, A/B-applied packages; resumption from the
persisted bitmap after a kill; a broker restart mid-deploy; packages with a wrong hash or a bad
signature never applied; a failing self-test rolled back; a staged rollout that aborts."""

from __future__ import annotations

import hashlib
import json
import signal
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from fleetkit import agent_config, agent_process, endpoint, package_dir, running_broker, start_manager, wait_until
from fwtools import needs_arm_gcc, needs_qemu

from fleet import protocol
from fleet.agent import STREAM_GAP_S, Agent
from fleet.broker import MANAGER
from fleet.mqtt import make_client
from fleet.package import Package, build, load_signing_key, new_signing_key, sign, unpack
from fleet.rollout import deploy, parse_stages
from tte.errors import TteError

TTE = "https://tte.invalid/ns#"


@pytest.fixture(scope="module")
def pkg_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return package_dir(tmp_path_factory.mktemp("pkg"))


def installed(state_dir: Path) -> dict[str, bytes] | None:
    boot = json.loads((state_dir / "boot.json").read_text()) if (state_dir / "boot.json").exists() else {}
    if not boot.get("active"):
        return None
    slot = state_dir / "slots" / boot["active"]
    return {p.name: p.read_bytes() for p in slot.iterdir() if p.name != "manifest.json"}


def test_deploy_applies_verified_package(tmp_path: Path, pkg_dir: Path) -> None:
    devices = ["d1", "d2", "d3"]
    with running_broker(tmp_path / "broker", devices) as b:
        m = start_manager(b.config)
        pkg = build(pkg_dir, load_signing_key(b.config.signing_key))
        m.add_package_to_graph(pkg)
        stream = tmp_path / "stream.npz"  # d1's sensor stream: it trains on it once the package is in
        rng = np.random.default_rng(0)
        np.savez(stream, x=rng.random((40, 28, 28, 1), np.float32), y=rng.integers(0, 10, 40))
        agents = [Agent(agent_config(b.config, d, tmp_path / d, engine="ref", telemetry_s=0.3,
                                     data=str(stream) if d == "d1" else None, train_every_s=0.02)) for d in devices]
        for a in agents:
            a.start()
        assert wait_until(lambda: len(m.registered) == 3, 10)
        r = deploy(m, pkg, devices, block_size=1024)
        assert not r.aborted and set(r.states.values()) == {"applied"}, r.to_json()
        for d in devices:
            files = installed(tmp_path / d)
            assert files == unpack(pkg.data)
            assert files["model.tflite"] == (pkg_dir / "fmnist_cnn.tflite").read_bytes()
        # the graph knows what each device runs now (from the registration the agent republished)
        assert wait_until(lambda: len(m.store.select(
            f"SELECT ?d WHERE {{ ?d <{TTE}deployedModel> <urn:tte:model:fmnist_cnn> }}")) == 3, 10)
        # every device got every byte (more only when a re-request after a silence crossed late blocks)
        assert all(m.jobs[d].bytes_received >= len(pkg.data) for d in devices)
        assert m.bytes_sent >= sum(m.jobs[d].bytes_received for d in devices)
        # d1 trains online on its stream with the installed model (reference engine), as its telemetry says
        assert wait_until(lambda: m.telemetry.get("d1", {}).get("steps", 0) >= 25, 30), m.telemetry
        t = m.telemetry["d1"]
        assert np.isfinite(t["loss"]) and 0.0 <= t["accuracy"] <= 1.0 and t["build_id"] == pkg.build_id
        assert t["ram_bytes"] == json.loads((pkg_dir / "report.json").read_text())["peak_sram_bytes"]
        assert m.telemetry["d2"]["steps"] == 1  # its self-test step only: it has no stream
        # the same build again: the agents already run it, nothing is downloaded
        sent = m.bytes_sent
        r2 = deploy(m, pkg, devices, job_id="again")
        assert set(r2.states.values()) == {"applied"} and m.bytes_sent == sent
        for a in agents:
            a.stop()
        m.stop()


def tampered(pkg: Package, data: bytes | None = None, manifest: dict | None = None, sig: str | None = None) -> Package:
    return Package(data if data is not None else pkg.data, manifest or pkg.manifest, sig or pkg.signature)


def test_wrong_hash_or_bad_signature_never_applied(tmp_path: Path, pkg_dir: Path) -> None:
    devices = ["d1", "d2", "d3"]
    with running_broker(tmp_path / "broker", devices) as b:
        m = start_manager(b.config)
        key = load_signing_key(b.config.signing_key)
        pkg = build(pkg_dir, key)
        flipped = bytearray(pkg.data)
        flipped[len(flipped) // 2] ^= 0x01
        other_key = load_signing_key_bytes(new_signing_key()[0])
        forged = {**pkg.manifest, "build_id": "forged"}
        cases = {
            "d1": (tampered(pkg, data=bytes(flipped)), "SHA-256 mismatch"),  # bytes changed in transit or at rest
            "d2": (tampered(pkg, manifest=forged), "bad signature"),  # manifest changed after signing
            "d3": (Package(pkg.data, forged, sign(forged, other_key)), "bad signature"),  # signed by someone else
        }
        agents = [Agent(agent_config(b.config, d, tmp_path / d)) for d in devices]
        for a in agents:
            a.start()
        assert wait_until(lambda: len(m.registered) == 3, 10)
        for d, (p, _) in cases.items():
            m.offer(p, d, f"job-{d}")
        assert wait_until(lambda: all(m.jobs[d].final for d in devices), 15)
        for d, (_, why) in cases.items():
            assert m.jobs[d].state == "failed" and why in m.jobs[d].detail, (d, m.jobs[d])
            assert installed(tmp_path / d) is None  # nothing applied
            assert not list((tmp_path / d / "download").iterdir())  # and nothing kept to resume from
        for a in agents:
            a.stop()
        m.stop()


def load_signing_key_bytes(pem: bytes):  # type: ignore[no-untyped-def]
    from cryptography.hazmat.primitives import serialization

    return serialization.load_pem_private_key(pem, password=None)


def test_failing_self_test_rolls_back(tmp_path: Path, pkg_dir: Path) -> None:
    with running_broker(tmp_path / "broker", ["d1"]) as b:
        m = start_manager(b.config)
        key = load_signing_key(b.config.signing_key)
        good = build(pkg_dir, key)
        bad_dir = tmp_path / "bad"
        bad_dir.mkdir()
        (bad_dir / "report.json").write_bytes((pkg_dir / "report.json").read_bytes())
        (bad_dir / "broken.tflite").write_bytes(b"TFL3" + b"\0" * 100)  # signed, but not a model
        bad = build(bad_dir, key)
        a = Agent(agent_config(b.config, "d1", tmp_path / "d1", engine="ref"))
        a.start()
        assert wait_until(lambda: "d1" in m.registered, 10)
        assert deploy(m, good, ["d1"], job_id="good").states == {"d1": "applied"}
        r = deploy(m, bad, ["d1"], job_id="bad")
        assert r.states == {"d1": "rolled_back"} and "self-test failed" in m.jobs["d1"].detail
        assert installed(tmp_path / "d1") == unpack(good.data)  # still the good one
        assert json.loads((tmp_path / "d1" / "boot.json").read_text())["build_id"] == good.build_id
        a.stop()
        m.stop()


def test_killed_mid_download_resumes_from_persisted_bitmap(tmp_path: Path, pkg_dir: Path) -> None:
    with running_broker(tmp_path / "broker", ["d1"]) as b:
        m = start_manager(b.config)
        pkg = build(pkg_dir, load_signing_key(b.config.signing_key))
        bs = protocol.MIN_BLOCK
        n = protocol.block_count(len(pkg.data), bs)
        acfg = agent_config(b.config, "d1", tmp_path / "d1", block_rate=400.0, window=4)
        p = agent_process(acfg, tmp_path)
        try:
            assert wait_until(lambda: "d1" in m.registered, 10)
            m.offer(pkg, "d1", "j1", bs)
            bits = tmp_path / "d1" / "download" / f"{pkg.sha256}.{bs}.bits"

            def received() -> int:  # what the agent has persisted: the bits after an 8-byte counter
                try:
                    return sum(bin(b).count("1") for b in bits.read_bytes()[8:])
                except OSError:
                    return 0
            assert wait_until(lambda: received() >= n // 3, 20)
            p.send_signal(signal.SIGKILL)
            p.wait()
        finally:
            p.kill()
        had = received()
        assert 0 < had < n
        sent_before = m.bytes_sent
        window = 32
        p = agent_process(replace(acfg, block_rate=0.0, window=window), tmp_path)
        try:
            assert wait_until(lambda: m.jobs["d1"].final, 20), m.jobs["d1"]
        finally:
            p.kill()
            p.wait()
        job = m.jobs["d1"]
        assert job.state == "applied", job
        assert job.resumed_blocks == had  # the restarted agent started from its bitmap
        sent_after = m.bytes_sent - sent_before
        # the rest, and at most one window twice (asked again after a silence: on a loaded machine the
        # window in flight can take longer than RETRY_S), not the whole package
        assert sent_after <= len(pkg.data) - had * bs + window * bs < len(pkg.data)
        assert job.bytes_resent == job.bytes_received - len(pkg.data) and job.bytes_resent < len(pkg.data) // 2
        assert installed(tmp_path / "d1") == unpack(pkg.data)
        m.stop()


def test_broker_restart_mid_deploy_completes(tmp_path: Path, pkg_dir: Path) -> None:
    devices = ["d1", "d2"]
    with running_broker(tmp_path / "broker", devices) as b:
        m = start_manager(b.config)
        pkg = build(pkg_dir, load_signing_key(b.config.signing_key))
        agents = [Agent(agent_config(b.config, d, tmp_path / d, block_rate=300.0, window=4)) for d in devices]
        for a in agents:
            a.start()
        assert wait_until(lambda: len(m.registered) == 2, 10)
        for d in devices:
            m.offer(pkg, d, "j1", protocol.MIN_BLOCK)
        assert wait_until(lambda: all(m.jobs[d].bytes_received > 0 or m.jobs[d].state == "downloading"
                                      for d in devices), 10)
        time.sleep(0.3)
        b.restart()  # every connection drops; blocks and requests in flight are lost
        t_restart = time.monotonic()
        assert wait_until(lambda: all(m.jobs[d].final for d in devices), 40), {d: m.jobs[d] for d in devices}
        assert time.monotonic() - t_restart > 0.5
        for d in devices:
            assert m.jobs[d].state == "applied"
            files = installed(tmp_path / d)
            assert files is not None and hashlib.sha256(files["model.tflite"]).digest() == hashlib.sha256(
                (pkg_dir / "fmnist_cnn.tflite").read_bytes()).digest()
        for a in agents:
            a.stop()
        m.stop()


def test_staged_rollout_aborts_at_threshold(tmp_path: Path, pkg_dir: Path) -> None:
    devices = [f"d{i:02d}" for i in range(12)]
    # d00, d01 keep most of their SRAM for their own application: the package cannot fit there
    with running_broker(tmp_path / "broker", devices) as b:
        m = start_manager(b.config)
        pkg = build(pkg_dir, load_signing_key(b.config.signing_key))
        agents = [Agent(agent_config(b.config, d, tmp_path / d, app_sram_bytes=250_000 if d in ("d00", "d01") else 0))
                  for d in devices]
        for a in agents:
            a.start()
        assert wait_until(lambda: len(m.registered) == 12, 10)
        r = deploy(m, pkg, devices, stages="4,50%,100%", abort_failures="25%", min_executions=3)
        assert r.aborted and "2 of 4 jobs failed" in r.reason, r.to_json()
        assert [s["cumulative"] for s in r.stages] == [4]
        assert r.states == {"d00": "failed", "d01": "failed", "d02": "applied", "d03": "applied"}
        assert "does not fit" in m.jobs["d00"].detail
        for d in devices[4:]:
            assert d not in m.jobs and installed(tmp_path / d) is None  # never offered: old model kept
        for a in agents:
            a.stop()
        m.stop()


def test_image_model_does_not_fit_an_accelerometer_only_device(tmp_path: Path, pkg_dir: Path) -> None:
    with running_broker(tmp_path / "broker", ["cam", "imu"]) as b:
        m = start_manager(b.config)
        pkg = build(pkg_dir, load_signing_key(b.config.signing_key), modality="camera")
        agents = [Agent(agent_config(b.config, "cam", tmp_path / "cam", sensors=["camera", "microphone"])),
                  Agent(agent_config(b.config, "imu", tmp_path / "imu", sensors=["accelerometer"]))]
        for a in agents:
            a.start()
        assert wait_until(lambda: len(m.registered) == 2, 10)
        r = deploy(m, pkg, ["cam", "imu"], min_executions=10)
        assert r.states == {"cam": "applied", "imu": "failed"}
        assert "input comes from a camera" in m.jobs["imu"].detail and m.jobs["imu"].bytes_received == 0
        # the knowledge graph, given the package, matches as the devices decided
        from fleet.package import describe_package
        from semantic.kg import KnowledgeGraph
        from semantic.match import match_model

        assert m.kg is not None
        assert wait_until(lambda: m.kg_devices() == 2, 10)
        KnowledgeGraph(m.kg.store).add(describe_package(pkg))
        assert match_model(m.kg.store, pkg.manifest["model"])["inference"] == ["cam"]
        for a in agents:
            a.stop()
        m.stop()


@pytest.mark.slow
@pytest.mark.parametrize("engine", ["c", pytest.param("qemu", marks=[needs_arm_gcc, needs_qemu])])
def test_compiled_engine_device_trains_the_deployed_package(tmp_path: Path, pkg_dir: Path, engine: str) -> None:
    """A device running the generated C step (on the host through cffi, or as firmware in QEMU)
    applies the package and trains on its stream; its self-test step gives the reference engine's
    loss for the same sample."""
    from fleet.engine import DeviceModel

    with running_broker(tmp_path / "broker", ["c1"]) as b:
        m = start_manager(b.config)
        pkg = build(pkg_dir, load_signing_key(b.config.signing_key))
        stream = tmp_path / "stream.npz"
        rng = np.random.default_rng(1)
        np.savez(stream, x=rng.random((40, 28, 28, 1), np.float32), y=rng.integers(0, 10, 40))
        a = Agent(agent_config(b.config, "c1", tmp_path / "c1", engine=engine, telemetry_s=0.3, data=str(stream),
                               train_every_s=0.02))
        a.start()
        assert wait_until(lambda: "c1" in m.registered, 10)
        assert deploy(m, pkg, ["c1"], stage_timeout=300).states == {"c1": "applied"}
        assert a.model is not None and a.model.engine == engine
        assert wait_until(lambda: m.telemetry.get("c1", {}).get("steps", 0) >= 3, 120), m.telemetry
        a.stop()
        m.stop()
    slot = tmp_path / "ref-slot"
    slot.mkdir()
    for name, content in unpack(pkg.data).items():
        (slot / name).write_bytes(content)
    ref = DeviceModel(slot, "ref")
    ref.self_test()
    assert json.loads((tmp_path / "c1" / "job.json").read_text())["state"] == "applied"  # persisted too
    assert a.model.last_loss is not None
    active = json.loads((tmp_path / "c1" / "boot.json").read_text())["active"]
    compiled = DeviceModel(tmp_path / "c1" / "slots" / active, engine)
    compiled.self_test()
    assert compiled.last_loss == ref.last_loss


def test_stage_parsing() -> None:
    assert parse_stages("5,25%,100%", 200) == [5, 50, 200]
    assert parse_stages("5,25%", 10) == [5, 10]
    assert parse_stages("100%", 3) == [3]
    with pytest.raises(TteError):
        parse_stages("50%,10%", 100)
    with pytest.raises(TteError):
        parse_stages("x", 100)


def test_deploy_to_all_with_a_modality_takes_the_devices_whose_sensors_fit(tmp_path: Path) -> None:
    """`--to all --modality camera` with a graph: online devices with a camera or no declared sensors,
    as match decides; an accelerometer-only device is not sent a package it would refuse."""
    from fleet.select import select_devices
    from semantic.describe import describe_board, describe_device
    from semantic.kg import KnowledgeGraph
    from semantic.store import LocalStore
    from tte.targets.boards import list_boards

    kg = KnowledgeGraph(LocalStore(tmp_path / "kg"))
    kg.add([describe_board(b) for b in list_boards()])
    kg.add([describe_device("imu", "rp2040", ["accelerometer"]), describe_device("cam", "rp2040", ["camera"]),
            describe_device("bare", "rp2040"), describe_device("cam-off", "rp2040", ["camera"])])
    online = ["bare", "cam", "imu", "unknown"]
    assert select_devices("all", online, kg.store, "camera") == ["bare", "cam"]
    assert select_devices("all", online, kg.store, "accelerometer") == ["bare", "imu"]
    assert select_devices("all", online, kg.store) == online
    assert select_devices("all", online, None, "camera") == online  # no graph: the devices refuse themselves


def test_deploy_with_mqtt_5_and_3_1_1_devices(tmp_path: Path, pkg_dir: Path) -> None:
    """A manager on MQTT 5 deploys to a device on MQTT 5 and one on MQTT 3.1.1 through one broker."""
    versions = {"v5": "5", "v311": "3.1.1"}
    with running_broker(tmp_path / "broker", list(versions)) as b:
        m = start_manager(b.config, mqtt_version="5")
        pkg = build(pkg_dir, load_signing_key(b.config.signing_key))
        agents = [Agent(agent_config(b.config, d, tmp_path / d, mqtt_version=v)) for d, v in versions.items()]
        for a in agents:
            a.start()
        try:
            assert wait_until(lambda: len(m.registered) == 2, 10)
            r = deploy(m, pkg, list(versions), block_size=1024)
            assert set(r.states.values()) == {"applied"}, r.to_json()
            for d in versions:
                assert installed(tmp_path / d) == unpack(pkg.data)
        finally:
            for a in agents:
                a.stop()
            m.stop()


def test_stalled_stream_asks_only_for_the_blocks_it_skipped(tmp_path: Path, pkg_dir: Path) -> None:
    """A package stream that skips a block and then stalls (a broker under load): the device asks for
    the skipped block, not for those still to come (every device asking for those would have the
    manager send the rest of the package once per device), and completes from the stream."""
    with running_broker(tmp_path / "broker", ["d1"]) as b:
        m = start_manager(b.config)
        pkg = build(pkg_dir, load_signing_key(b.config.signing_key))
        bs = 4 * protocol.MIN_BLOCK
        n = protocol.block_count(len(pkg.data), bs)
        a = Agent(agent_config(b.config, "d1", tmp_path / "d1"))
        a.start()
        pub = make_client(endpoint(b.config), "test-stream", MANAGER, b.config.password(MANAGER))
        try:
            assert wait_until(lambda: "d1" in m.registered, 10)
            m.offer(pkg, "d1", "j1", bs, stream=True)
            assert wait_until(lambda: m.jobs["d1"].state == "downloading", 10)
            pub.connect(endpoint(b.config).host, endpoint(b.config).port, 30)
            pub.loop_start()
            topic = protocol.stream_topic(b.config.fleet, pkg.sha256)
            blocks = [protocol.pack_block(pkg.sha256, len(pkg.data), bs, i, pkg.data[i * bs:(i + 1) * bs])
                      for i in range(n)]
            half, skipped = n // 2, 3
            sent0 = m.blocks_sent
            for i in range(half):
                if i != skipped:
                    pub.publish(topic, blocks[i], qos=0)
            time.sleep(3 * STREAM_GAP_S)  # the stall: longer than a gap, shorter than STREAM_WAIT_S
            # the skipped block, served on request (asked for again if still on its way at the next
            # look), not the blocks still to come
            assert 1 <= m.blocks_sent - sent0 <= 3 < n - half
            assert not m.jobs["d1"].final
            for i in range(half, n):
                pub.publish(topic, blocks[i], qos=0)
            assert wait_until(lambda: m.jobs["d1"].final, 10), m.jobs["d1"]
            assert m.jobs["d1"].state == "applied"
            assert m.blocks_sent - sent0 <= 3
            assert installed(tmp_path / "d1") == unpack(pkg.data)
        finally:
            pub.disconnect()
            pub.loop_stop()
            a.stop()
            m.stop()
