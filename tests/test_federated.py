"""Federated meta-learning: wire format, devices (int8 + QAS through tte.Trainer),
strategies, faults, tasks and the `tte fed run` command."""

from __future__ import annotations

import json
import logging

import numpy as np
import pytest
from click.testing import CliRunner

from federated import evaluate_heldout, make_strategy, make_task, train_federated
from federated.algorithms import ALGORITHMS, FedAvg, Reptile, TinyMetaFed, TinyReptile, Update
from federated.client import DeviceFactory, device_for, firmware
from federated.model import MalformedUpdate, apply_down, decode_up, encode_down, encode_up, message_bytes, real_params
from federated.tasks.base import Protocol
from federated.tasks.har import HOP, WINDOW, load_watch, split_people, support_query_windows, window_features
from federated.transports import InProcessTransport
from tte.cli import main
from tte.errors import TteError


@pytest.fixture(scope="module")
def sine():
    return make_task("sine", 6, 0)


def test_down_message_rebuilds_the_servers_int8_graph(sine):
    spec = sine.spec
    params = {k: v * 1.5 for k, v in spec.initial_params().items()}
    q = spec.device_graph(params)
    msg = encode_down(q, spec.param_names)
    g = apply_down(firmware(sine), msg)
    for name, t in q.tensors.items():
        assert np.array_equal(g.tensors[name].data, t.data) if t.is_const else True
        if t.quant is not None:
            assert g.tensors[name].quant == t.quant, name
    # int8 weights, int32 biases, float32 scales, int8 zero points: nothing else on the wire
    assert {str(a.dtype) for a in msg.values()} <= {"int8", "int32", "float32"}
    assert message_bytes(msg) < sum(p.nbytes for p in params.values())


def test_device_graph_leaves_headroom_for_training(sine):
    q = sine.spec.device_graph(sine.spec.initial_params())
    for name in sine.spec.param_names:
        if name.endswith(".w"):
            assert np.abs(q.tensors[name].data).max() == round(127 * sine.spec.weight_headroom)


def test_top_p_update_sends_only_the_largest_changes(sine):
    spec = sine.spec
    q = spec.device_graph(spec.initial_params())
    trained = q.copy()
    rng = np.random.default_rng(0)
    for n in spec.param_names:
        d = trained.tensors[n].data
        trained.tensors[n].data = np.clip(d.astype(np.int64) + rng.integers(-3, 4, d.shape),
                                          np.iinfo(d.dtype).min, np.iinfo(d.dtype).max).astype(d.dtype)
    names = spec.param_names
    full = encode_up(q, trained, names, None)
    sparse = encode_up(q, trained, names, 0.1)
    assert message_bytes(sparse) < 0.5 * message_bytes(full)
    dec_full, dec_sparse = decode_up(q, full, names), decode_up(q, sparse, names)
    before, after = real_params(q, names), real_params(trained, names)
    changed = sum(int(np.sum(dec_sparse[n] != before[n])) for n in names)
    total = sum(before[n].size for n in names)
    assert 0 < changed <= int(np.ceil(0.1 * total))
    for n in names:
        np.testing.assert_array_equal(dec_full[n], after[n])
        moved = dec_sparse[n] != before[n]
        np.testing.assert_array_equal(dec_sparse[n][moved], after[n][moved])
    # the kept changes are the largest ones
    kept = np.concatenate([np.abs(after[n] - before[n])[dec_sparse[n] != before[n]] for n in names])
    dropped = np.concatenate([np.abs(after[n] - before[n])[dec_sparse[n] == before[n]] for n in names])
    assert kept.min() >= dropped.max()


@pytest.mark.parametrize("bad", ["shape", "nan", "float", "index", "key", "bitmap"])
def test_malformed_updates_are_rejected(sine, bad):
    spec = sine.spec
    q = spec.device_graph(spec.initial_params())
    names = spec.param_names
    msg = encode_up(q, q, names, None)
    w = names[0]
    if bad == "shape":
        msg[f"q/{w}"] = msg[f"q/{w}"][:3]
    elif bad == "nan":
        msg[f"q/{w}"] = np.full(msg[f"q/{w}"].shape, np.nan, np.float32)
    elif bad == "float":
        msg[f"q/{w}"] = msg[f"q/{w}"].astype(np.float32)
    elif bad == "index":
        msg = {f"i/{w}": np.array([10**6], np.uint32), f"v/{w}": np.array([1], np.int8)}
    elif bad == "key":
        msg["q/not_a_param"] = np.zeros(1, np.int8)
    elif bad == "bitmap":
        msg = {f"m/{w}": np.zeros(1, np.uint8), f"v/{w}": np.array([1], np.int8)}
    with pytest.raises(MalformedUpdate):
        decode_up(q, msg, names)


def test_device_trains_int8_with_qas_through_the_trainer(sine):
    dev = device_for(sine, 0)
    spec = sine.spec
    q = spec.device_graph(spec.initial_params())
    tr = dev.trainer(q, lr=0.01, seed=0)
    assert tr.precision == "int8" and tr.engine == "ref"
    assert set(tr.training.updates) == set(spec.param_names)  # every layer of the MLP trains
    assert any(n.op in ("fc_weight_update", "sgd_update") and n.attrs.get("qas") for n in tr.training.graph.nodes)
    cfg = {"round": 0, "seed": 0, "steps": 8, "lr": 0.01, "send": ",".join(spec.param_names)}
    up, metrics = dev.train(encode_down(q, spec.param_names), cfg)
    assert metrics["samples"] == 8 and np.isfinite(metrics["loss"])
    assert all(up[f"q/{n}"].dtype == q.tensors[n].data.dtype for n in spec.param_names)
    assert any(not np.array_equal(up[f"q/{n}"], q.tensors[n].data) for n in spec.param_names)
    # same seed, round and device: the same bits (stochastic rounding is seeded)
    up2, _ = device_for(sine, 0).train(encode_down(q, spec.param_names), cfg)
    assert all(np.array_equal(up[k], up2[k]) for k in up)


def test_device_refuses_a_model_over_its_memory_budget(sine):
    dev = device_for(sine, 0)
    dev.protocol = Protocol(memory_budget=1024)
    with pytest.raises(TteError, match="SRAM"):
        dev.trainer(sine.spec.device_graph(sine.spec.initial_params()), lr=0.01, seed=0)


def test_strategies_share_one_interface():
    rng = np.random.default_rng(0)
    assert len(TinyReptile().select(0, 10, rng)) == 1
    assert len(Reptile(clients_per_round=4).select(0, 10, rng)) == 4
    assert Reptile().step_size(0, 10) == 1.0 and Reptile().step_size(5, 10) == pytest.approx(0.5)
    assert TinyMetaFed().step_size(5, 10) == pytest.approx(0.5) and TinyMetaFed().step_size(10, 10) == 0.0
    assert FedAvg().step_size(9, 10) == 1.0
    names, head = ["fc0.w", "fc0.b", "fc1.w", "fc1.b"], ["fc1.w", "fc1.b"]
    assert TinyMetaFed().communicated(names, head) == ["fc0.w", "fc0.b"]
    assert Reptile().communicated(names, head) == names
    proto = Protocol(inner_steps=20)
    assert TinyMetaFed().configure(0, 10, proto)["recon_steps"] == 10
    assert TinyMetaFed().configure(0, 10, proto)["top_p"] == 0.25
    assert Reptile().configure(0, 10, proto)["recon_steps"] == 0


def test_aggregation_is_a_reptile_outer_step():
    theta = {"w": np.zeros(2, np.float32)}
    sent = {"w": np.array([0.1, 0.0], np.float32)}  # what the devices received (dequantized)
    ups = [Update(0, {"w": np.array([1.1, 0.0], np.float32)}, 10),
           Update(1, {"w": np.array([0.1, 3.0], np.float32)}, 30)]
    np.testing.assert_allclose(Reptile().aggregate(5, 10, theta, sent, ups)["w"], [0.25, 0.75])
    np.testing.assert_allclose(FedAvg().aggregate(5, 10, theta, sent, ups)["w"], [0.25, 2.25])
    assert Reptile().aggregate(0, 10, theta, sent, []) is theta


def test_faulty_devices_are_excluded_and_logged_and_rounds_complete(sine, caplog):
    factory = DeviceFactory("sine", 6, 0, faults=((1, "dropout"), (2, "nan"), (3, "malformed")))
    strategy = Reptile(clients_per_round=6)
    with caplog.at_level(logging.WARNING, logger="federated"):
        run = train_federated(sine, strategy, rounds=2, seed=0, transport=InProcessTransport(factory))
    assert [h["devices"] for h in run.history] == [3.0, 3.0]
    reasons = {(e["device"], e["reason"].split(":")[0]) for e in run.excluded}
    assert reasons == {(1, "DeviceDropout"), (2, "malformed update"), (3, "malformed update")}
    assert "device 1 excluded" in caplog.text and "non-finite" in caplog.text
    assert all(np.all(np.isfinite(v)) for v in run.params.values())
    # the healthy devices alone give the same model
    healthy = train_federated(sine, strategy, rounds=2, seed=0,
                              transport=InProcessTransport(_Only({0, 4, 5}, DeviceFactory("sine", 6, 0))))
    assert all(np.array_equal(run.params[k], healthy.params[k]) for k in run.params)


class _Only:
    """Devices outside ``keep`` are switched off (never answer)."""

    def __init__(self, keep: set[int], factory: DeviceFactory) -> None:
        self.keep, self.factory = keep, factory

    def __call__(self, i: int):  # type: ignore[no-untyped-def]
        dev = self.factory(i)
        if i not in self.keep:
            def off(*a, **k):  # type: ignore[no-untyped-def]
                raise ConnectionError("switched off")
            dev.train = off  # type: ignore[method-assign]
        return dev


def test_bytes_are_counted_per_device(sine):
    run_r = train_federated(sine, Reptile(clients_per_round=3), rounds=2, seed=0)
    run_t = train_federated(sine, TinyMetaFed(clients_per_round=3), rounds=2, seed=0)
    up_r, down_r = run_r.per_device(6)
    up_t, down_t = run_t.per_device(6)
    assert up_r > 0 and down_r > up_r  # down also carries scales and zero points
    assert up_t <= 0.5 * up_r and down_t < down_r  # top-25% of the body only, no head


def test_har_people_are_devices_and_held_out_people_are_new():
    task = make_task("har", 7, 0)
    train, held, val = task.split
    assert len(train) == 7 and len(held) == 3 and not set(train) & set(held) and val == [] and task.n_validation == 0
    d = task.heldout_device(0)
    assert d.support[0].shape[1] == 30 and set(np.unique(d.support[1])) == set(range(7))
    assert np.all(np.isfinite(d.query[0]))


def test_validation_devices_are_neither_training_nor_test_devices():
    # HAR: 4 tuning people train, 2 other tuning people validate; the seed's test people are untouched
    full, tune = make_task("har", 7, 0), make_task("har", 4, 0)
    train, held, val = tune.split
    assert len(val) == tune.n_validation == 2 and held == full.split[1]
    assert not set(val) & (set(train) | set(held))
    x = tune.validation_device(1).query[0]
    assert not any(np.array_equal(x, tune.heldout_device(j).query[0]) for j in range(tune.n_heldout))
    # sine: other functions than both the training and the test devices
    sine = make_task("sine", 4, 0)
    ys = {float(d.query[1][7, 0]) for d in [sine.device(0), sine.heldout_device(0), sine.validation_device(0)]}
    assert len(ys) == 3 and sine.n_validation > 0
    # few-shot: validation tasks use classes of their own (see test_fewshot_class_splits_are_disjoint)
    ev = evaluate_heldout(sine, sine.spec.initial_params(), seed=0, split="validation", n_heldout=2)
    assert len(ev.per_device) == 2
    with pytest.raises(TteError, match="no validation devices"):
        evaluate_heldout(full, full.spec.initial_params(), seed=0, split="validation")


def test_har_test_people_were_never_tuning_people_at_any_seed():
    # bench/fed.py tunes HAR on make_task("har", 4, 0): its training and validation people
    ids = sorted(make_task("har", 7, 0).people)
    tune_train, _, tune_val = split_people(ids, 4, 0)
    tuned_on = set(tune_train) | set(tune_val)
    assert len(tuned_on) == 6
    draws = set()
    for seed in range(40):
        train, test, val = split_people(ids, 7, seed)
        assert len(test) == 3 and not set(test) & tuned_on, seed
        assert not set(test) & set(train) and set(train) | set(test) == set(ids) and val == []
        # tuning at any other seed uses the same people
        t_train, _, t_val = split_people(ids, 4, seed)
        assert set(t_train) | set(t_val) == tuned_on
        draws.add(frozenset(test))
    assert len(draws) == 4  # every 3 of the 4 other people is some seed's test set
    assert set(make_task("har", 7, 5).split[1]) == set(split_people(ids, 7, 5)[1])


def test_har_support_windows_share_no_sample_with_query_windows():
    for n in range(1, 60):
        sup, query = support_query_windows(n)
        if len(sup) and len(query):
            assert sup.max() * HOP + WINDOW <= query.min() * HOP, n  # last support sample before first query one
        assert n < 4 or len(query) >= n // 2 - 1
    # on a real held-out person: match each support / query row to the window it was computed from
    task = make_task("har", 7, 1)
    person = task.split[1][0]
    data = load_watch()
    series = [np.asarray(x, np.float64) for x, p in zip(data["X"], data["subject"]) if int(p) == person]
    d = task.heldout_device(0)
    mean, std = task.norm
    s_at = q_at = 0
    for rec in series:
        windows = (window_features(rec) - mean) / std
        n_sup, n_query = min(task.k_shot, len(windows) // 2), len(support_query_windows(len(windows))[1])
        sup_rows, q_rows = d.support[0][s_at:s_at + n_sup], d.query[0][q_at:q_at + n_query]
        s_at, q_at = s_at + n_sup, q_at + n_query
        which = [int(np.argmin(np.abs(windows - row).sum(axis=1))) for row in (*sup_rows, *q_rows)]
        assert all(np.allclose(windows[w], row, atol=1e-5) for w, row in zip(which, (*sup_rows, *q_rows)))
        last_support_sample = max(which[:n_sup]) * HOP + WINDOW - 1
        first_query_sample = min(which[n_sup:]) * HOP
        assert last_support_sample < first_query_sample
    assert s_at == len(d.support[0]) and q_at == len(d.query[0])


def test_every_method_and_the_baseline_adapt_with_the_same_steps():
    # counted by the trainers themselves; the protocol fixes the budget: head passes + full passes
    from federated.experiment import run_experiment

    steps = {}
    for algo in ALGORITHMS:
        r = run_experiment("sine", algo, devices=4, rounds=1, seed=0, n_heldout=2)
        steps[algo], steps["baseline"] = r["adapt_steps"], r["baseline_adapt_steps"]
    task = make_task("sine", 4, 0)
    p, k = task.protocol, task.k_shot
    assert p.head_epochs > 0 and p.adapt_epochs > 0
    assert all(v == [(p.head_epochs + p.adapt_epochs) * k] * 2 for v in steps.values()), steps


def test_every_strategy_spends_the_same_steps_per_participation(sine):
    spec = sine.spec
    q = spec.device_graph(spec.initial_params())
    for name, cls in ALGORITHMS.items():
        strategy = cls()
        send = strategy.communicated(spec.param_names, spec.head)
        cfg = {**strategy.configure(0, 10, sine.protocol), "round": 0, "seed": 0, "send": ",".join(send)}
        _, metrics = device_for(sine, 0).train(encode_down(q, send), cfg)
        assert metrics["steps"] == sine.protocol.inner_steps, name
    assert TinyMetaFed().configure(0, 10, sine.protocol)["recon_steps"] > 0  # it does refit its head, within them


def test_fewshot_calibration_holds_only_meta_training_classes():
    task = make_task("fewshot-digits", 4, 0)
    xs, ys = task.images
    label = {x.tobytes(): int(y) for x, y in zip(xs, ys)}
    seen = {label[x.tobytes()] for x in task.spec.calibration}
    assert seen == set(task.classes()[0].tolist())


def test_tinyreptile_outer_step_starts_small():
    # beta_0 = 1 with one device per round diverges on HAR after ~175 rounds (weights grow until the
    # on-device learning rate is too large; see federated/algorithms/tinyreptile.py)
    assert TinyReptile().step_size(0, 500) <= 0.3
    assert TinyReptile().step_size(499, 500) < TinyReptile().step_size(0, 500)


def _classes_seen(task, devices) -> set[int]:
    """The data set classes whose images appear on ``devices`` (any part: pool, support, query)."""
    xs, ys = task.images
    label = {x.tobytes(): int(y) for x, y in zip(xs, ys)}
    return {label[x.tobytes()] for d in devices for part in (d.pool, d.support, d.query) for x in part[0]}


def test_fewshot_class_splits_are_disjoint():
    # meta-train / validation / test classes, as in the few-shot literature: hyper-parameters
    # are chosen on classes that neither meta-training nor the test ever uses
    task = make_task("fewshot-digits", 4, 0)
    train_cls, val_cls, test_cls = (set(c.tolist()) for c in task.classes())
    assert train_cls == {0, 1, 2, 3} and val_cls == {4, 5, 6} and test_cls == {7, 8, 9}
    assert _classes_seen(task, [task.device(i) for i in range(task.n_devices)]) <= train_cls
    assert _classes_seen(task, [task.validation_device(j) for j in range(5)]) <= val_cls
    assert _classes_seen(task, [task.heldout_device(j) for j in range(5)]) <= test_cls
    assert task.n_heldout >= 50 and task.n_validation >= 50  # one task's accuracy is too noisy to compare
    d = task.heldout_device(0)
    assert d.support[0].shape == (3 * task.k_shot, 64) and set(np.unique(d.support[1])) == {0, 1, 2}


def test_adaptation_learning_rate_overrides_the_tasks():
    task = make_task("fewshot-digits", 4, 0)
    init = task.spec.initial_params()
    default = evaluate_heldout(task, init, seed=0, n_heldout=2)
    same = evaluate_heldout(task, init, seed=0, n_heldout=2, adapt_lr=task.protocol.lr)
    other = evaluate_heldout(task, init, seed=0, n_heldout=2, adapt_lr=0.1)
    assert same.per_device == default.per_device and other.per_device != default.per_device


def test_cli_fed_run_json():
    res = CliRunner().invoke(main, ["fed", "run", "--task", "sine", "--algo", "tinymetafed", "--devices", "4",
                                    "--rounds", "2", "--heldout", "2", "--meta-lr", "0.5", "--top-p", "0.1",
                                    "--adapt-lr", "0.02", "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    for key in ("task", "algo", "metric", "value", "baseline_value", "bytes_up_per_device", "bytes_down_per_device"):
        assert key in out
    assert out["metric"] == "mse" and out["algo"] == "tinymetafed" and out["precision"] == "int8"
    assert out["meta_lr"] == 0.5 and out["top_p"] == 0.1 and out["split"] == "test" and out["adapt_lr"] == 0.02


@pytest.mark.parametrize("args, message", [
    (["--devices", "0"], "at least one device"),
    (["--rounds", "0"], "at least one round"),
    (["--task", "har", "--devices", "9"], "7 training people"),
])
def test_cli_fed_run_user_errors(args, message):
    res = CliRunner().invoke(main, ["fed", "run", *args])
    assert res.exit_code == 2
    assert message in res.output and "Traceback" not in res.output


def test_unknown_names_are_user_errors():
    with pytest.raises(TteError, match="unknown algorithm"):
        make_strategy("fedprox")
    with pytest.raises(TteError, match="unknown task"):
        make_task("cifar", 3, 0)


@pytest.mark.parametrize("task,algo", [("sine", "reptile"), ("fewshot-digits", "tinymetafed"), ("har", "tinyreptile")])
def test_c_engine_gives_the_reference_engines_federated_result(task: str, algo: str) -> None:
    """bench/fed.py's devices train with the reference engine; the generated C step (the
    firmware's code, engine "c") gives the same held-out scores (an MSE on sine, which any
    changed weight would move) and message sizes on each task, so the benchmark's figures
    are the C engine's too."""
    from federated.experiment import run_experiment

    kw = dict(devices=6, rounds=2, seed=3, n_heldout=2)
    ref = run_experiment(task, algo, engine="ref", **kw)
    c = run_experiment(task, algo, engine="c", **kw)
    assert c["engine"] == "c" and ref["engine"] == "ref"
    assert c["value"] == ref["value"] and c["baseline_value"] == ref["baseline_value"]
    assert c["bytes_up_per_device"] == ref["bytes_up_per_device"]
