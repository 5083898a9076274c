"""The generated Mosquitto configuration on a real broker: credentials, the per-device ACL, TLS,
and the rule that no file tte did not write is overwritten."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest
from fleetkit import Probe, running_broker
from paho.mqtt.reasoncodes import ReasonCode

from fleet import protocol
from fleet.broker import password_hash, write_config
from fleet.mqtt import Endpoint
from tte.errors import TteError


def ok(rc: object) -> bool:
    return isinstance(rc, ReasonCode) and not rc.is_failure


def test_wrong_credentials_cannot_connect(tmp_path: Path) -> None:
    with running_broker(tmp_path, ["d1"]) as b:
        good = Probe(b.config, "d1")
        assert ok(good.connect())
        good.close()
        for user, pw in (("d1", "wrong"), ("nobody", "x"), (None, None), ("manager", b.config.password("d1"))):
            p = Probe(b.config, user, pw)
            rc = p.connect()
            assert not ok(rc), (user, rc)
            p.client.loop_stop()


@pytest.mark.parametrize("version", ["3.1.1", "5"])
def test_device_cannot_use_another_devices_topics(tmp_path: Path, version: str) -> None:
    with running_broker(tmp_path, ["a", "b"]) as br:
        cfg = br.config
        manager = Probe(cfg, "manager")
        assert ok(manager.connect())
        assert manager.subscribe(f"{protocol.fleet_root('f1')}/#")[0].value < 0x80
        a = Probe(cfg, "a", version=version)
        assert ok(a.connect())
        b = Probe(cfg, "b", version=version)
        assert ok(b.connect())
        # a may ask for b's topics (mosquitto 2.0 grants the SUBACK), but nothing of b's reaches it
        for kind in ("job", "stream/data", "state"):
            a.subscribe(protocol.topic("f1", "b", kind))
            b.subscribe(protocol.topic("f1", "b", kind))
            manager.publish(protocol.topic("f1", "b", kind), f"for b: {kind}".encode())
            got_b = b.wait_for(lambda m: True, timeout=2)
            assert got_b is not None and got_b.payload == f"for b: {kind}".encode()
        assert a.wait_for(lambda m: True, timeout=0.5) is None
        while manager.wait_for(lambda m: True, timeout=0.3) is not None:
            pass  # the manager's own three publications
        # a publish under b's subtree never reaches anyone (v5: refused in the PUBACK)
        rc = a.publish(protocol.topic("f1", "b", "telemetry"), b'{"steps": 1}')
        if version == "5":
            assert rc.is_failure and rc.getName() == "Not authorized"
        # a device cannot publish what only the manager sends, even in its own subtree
        a.publish(protocol.topic("f1", "a", "stream/data"), b"x")
        # while its own telemetry goes through
        assert ok(a.publish(protocol.topic("f1", "a", "telemetry"), b'{"steps": 2}')) or version == "3.1.1"
        got = manager.wait_for(lambda m: True, timeout=2)
        assert got is not None and got.topic == protocol.topic("f1", "a", "telemetry")
        assert got.payload == b'{"steps": 2}'
        assert manager.wait_for(lambda m: True, timeout=0.5) is None
        a.close()
        b.close()
        manager.close()


def test_devices_read_package_streams_and_cannot_write_them(tmp_path: Path) -> None:
    with running_broker(tmp_path, ["a", "b"]) as br:
        stream = protocol.stream_topic("f1", "ab" * 32)
        manager = Probe(br.config, "manager")
        a = Probe(br.config, "a")
        b = Probe(br.config, "b")
        for p in (manager, a, b):
            assert ok(p.connect())
            assert p.subscribe(stream, qos=0)[0].value < 0x80
        manager.publish(stream, b"block", qos=0)
        for p in (manager, a, b):  # one publish, every device gets it
            got = p.wait_for(lambda m: True, timeout=2)
            assert got is not None and got.payload == b"block"
        rc = a.publish(stream, b"forged")  # v5: refused in the PUBACK
        assert rc.is_failure and rc.getName() == "Not authorized"
        for p in (manager, b):
            assert p.wait_for(lambda m: True, timeout=0.5) is None
        for p in (manager, a, b):
            p.close()


def test_tls_with_generated_ca(tmp_path: Path) -> None:
    with running_broker(tmp_path, ["d1"], tls=True) as b:
        cfg = b.config
        assert cfg.url.startswith("mqtts://")
        p = Probe(cfg, "d1")
        assert ok(p.connect())
        sock = p.client.socket()
        assert isinstance(sock, ssl.SSLSocket) and sock.version() in ("TLSv1.2", "TLSv1.3")
        p.close()
        # a client that trusts only the system CAs refuses the broker's certificate
        untrusted = Probe(cfg, "d1", ep=Endpoint.parse(cfg.url))
        assert isinstance(untrusted.connect(timeout=2), ssl.SSLError)


def test_never_overwrites_foreign_files(tmp_path: Path) -> None:
    (tmp_path / "acl").write_text("mine\n")
    with pytest.raises(TteError, match="refusing to overwrite"):
        write_config(tmp_path, devices=["d1"])
    assert (tmp_path / "acl").read_text() == "mine\n"
    assert not (tmp_path / "mosquitto.conf").exists()


def test_rerun_keeps_credentials_and_adds_devices(tmp_path: Path) -> None:
    first = write_config(tmp_path, devices=["d1"])
    second = write_config(tmp_path, devices=["d1", "d2"])
    assert second.password("d1") == first.password("d1") and second.port == first.port
    assert "d2" in second.credentials["devices"]
    (tmp_path / "passwd").write_text("edited by hand\n")
    with pytest.raises(TteError, match="passwd"):
        write_config(tmp_path, devices=["d1"])


def test_python_hash_is_accepted_by_mosquitto(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The fallback for machines without mosquitto_passwd: mosquitto itself is the oracle."""
    monkeypatch.setattr("fleet.broker.shutil.which", lambda name: None)
    assert password_hash("pw", b"0" * 12).startswith("$7$101$")
    with running_broker(tmp_path, ["d1"]) as b:
        assert "$7$101$" in (tmp_path / "passwd").read_text()
        p = Probe(b.config, "d1")
        assert ok(p.connect())
        p.close()
        bad = Probe(b.config, "d1", "nope")
        assert not ok(bad.connect())
        bad.client.loop_stop()
