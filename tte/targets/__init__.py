"""Targets: boards, the host C build and simulator, firmware builds and QEMU runs."""
