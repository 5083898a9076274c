"""What the device model costs on real boards: tte's compiler plans one int8 training step
(the task's scheme, QAS, batch 1) for each board and reports its peak SRAM and flash; a
model that does not fit a board is refused with the compiler's reason."""

from __future__ import annotations

from typing import Any

from federated.client import firmware, resolve
from federated.tasks.base import Task
from tte.compiler.analysis import BudgetError
from tte.compiler.compile import compile_model
from tte.errors import TteError

BOARDS = ("stm32f746g-disco", "arduino-nano-33-ble-sense", "rp2040")

_CACHE: dict[tuple[str, str, bool], dict[str, Any]] = {}


def board_report(task: Task, boards: tuple[str, ...] = BOARDS, *, code_size: tuple[str, ...] = BOARDS[:1]
                 ) -> dict[str, dict[str, Any]]:
    """Per board: peak SRAM and flash of the compiled training step. For the boards in
    ``code_size`` the C is built with the board's compiler (when installed) and flash includes
    the code; for the others flash is the model's data alone (``flash_code_bytes`` None).
    Raises TteError naming the board when the step does not fit."""
    out: dict[str, dict[str, Any]] = {}
    for board in boards:
        # the protocol (scheme, learning rate, memory budget) decides the compile as much as the task
        key = (task.name, repr(task.protocol), task.loss, board, board in code_size)
        if key not in _CACHE:
            try:
                report = compile_model(firmware(task), board=board, scheme=resolve(task.protocol.scheme),
                                       lr=task.protocol.lr, loss=task.loss, budget_bytes=task.protocol.memory_budget,
                                       emit_c=board in code_size)
            except BudgetError as e:
                raise TteError(f"the {task.name} device model does not fit {board}: {str(e).splitlines()[0]}") from None
            flash = report["flash_bytes"] if report.get("flash_code_bytes") else report["flash_data_bytes"]
            _CACHE[key] = {"peak_sram_bytes": int(report["peak_sram_bytes"]), "flash_bytes": int(flash),
                           "flash_code_bytes": report.get("flash_code_bytes"),
                           "budget_bytes": int(report["budget_bytes"]), "scheme": task.protocol.scheme}
        out[board] = _CACHE[key]
    return out
