"""Federated meta-learning for tte devices: strategies (FedAvg, Reptile, TinyReptile,
TinyMetaFed), devices that train with tte's int8 engine, tasks and transports.

    from federated import make_task, make_strategy, train_federated, evaluate_heldout
    task = make_task("sine", n_devices=20, seed=0)
    run = train_federated(task, make_strategy("tinyreptile"), rounds=200, seed=0)
    evaluate_heldout(task, run.params, seed=0).value      # mse after k-shot adaptation
"""

from federated.algorithms import ALGORITHMS, Strategy, make_strategy
from federated.server import Evaluation, RunResult, evaluate_heldout, train_federated
from federated.tasks import TASKS, Task, make_task

__all__ = ["ALGORITHMS", "TASKS", "Evaluation", "RunResult", "Strategy", "Task", "evaluate_heldout", "make_strategy",
           "make_task", "train_federated"]
