"""Seeding, device choice and a one-line report of the environment."""

from __future__ import annotations

import platform
import random
import resource
import sys
import time

import numpy as np
import torch

__all__ = ["set_seed", "pick_device", "env_report", "run_summary"]


def set_seed(seed: int) -> None:
    """Seed Python's, NumPy's and PyTorch's generators (CPU and every GPU)."""
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"seed must be an int, got {type(seed).__name__} ({seed!r})")
    if not 0 <= seed < 2**32:
        raise ValueError(f"seed must be in [0, 2**32), got {seed}")
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds every CUDA device


def pick_device(prefer: str | None = None) -> torch.device:
    """The device to train on: ``prefer`` if given (and available), else CUDA, else CPU."""
    if prefer is not None:
        if not isinstance(prefer, str):
            raise TypeError(f"prefer must be a str such as 'cpu' or 'cuda', "
                            f"got {type(prefer).__name__}")
        device = torch.device(prefer)
        if device.type == "cuda" and not torch.cuda.is_available():
            raise ValueError(f"device {prefer!r} was asked for, but CUDA is not available here")
        if device.type not in ("cpu", "cuda"):
            raise ValueError(f"expected 'cpu' or 'cuda', got {prefer!r}")
        return device
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def env_report(device: torch.device | None = None) -> str:
    """One line: Python, torch, device and CPU threads, e.g. for the top of a notebook."""
    device = pick_device() if device is None else device
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else platform.machine()
    return (f"Python {sys.version.split()[0]} · torch {torch.__version__} · "
            f"device {device} ({name}) · {torch.get_num_threads()} CPU threads")


def run_summary(started_at: float) -> str:
    """Wall time since ``started_at`` (a ``time.perf_counter()`` value) and this process's
    peak memory, measured now, e.g. for the last cell of a notebook."""
    seconds = time.perf_counter() - started_at
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB
    return f"This run: {seconds:.1f} s wall time, peak memory {peak_mb:.0f} MB."
