"""What a benchmark ran on, described one way for every benchmark's JSON: the machine (CPUs, the GPU
the runs used, if any) and the versions of the stack."""
import os
import platform
from typing import Dict, Optional

import torch


def machine(gpu: Optional[int] = None, threads: bool = False) -> str:
    """`x86_64, 2 CPUs[, torch threads N], GPU <name>` (GPU `gpu` used) or `..., no GPU used`; where
    `gpu` is asked for on a machine without one, the description says so instead of failing."""
    parts = [platform.machine(), f"{os.cpu_count()} CPUs"]
    if threads:
        parts.append(f"torch threads {torch.get_num_threads()}")
    if gpu is None:
        parts.append("no GPU used")
    elif torch.cuda.is_available():
        parts.append(f"GPU {torch.cuda.get_device_name(gpu)}")
    else:  # e.g. a report gathered with --report-only from GPU runs, on a machine without one
        parts.append(f"GPU {gpu} (its name unknown: no GPU where this was written)")
    return ", ".join(parts)


def versions() -> Dict[str, str]:
    """torch, transformers, allennlp and Python versions."""
    import allennlp
    import transformers

    return {"torch": torch.__version__, "transformers": transformers.__version__,
            "allennlp": allennlp.__version__, "python": platform.python_version()}
