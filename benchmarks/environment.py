"""What a benchmark ran on, described one way for every benchmark's JSON: the machine (CPUs, the GPU
the runs used, if any) and the versions of the stack."""
import os
import platform
from typing import Dict, Optional

import torch


def machine(gpu: Optional[int] = None, threads: bool = False) -> str:
    """`x86_64, 2 CPUs[, torch threads N], GPU <name>` (GPU `gpu` used) or `..., no GPU used`."""
    parts = [platform.machine(), f"{os.cpu_count()} CPUs"]
    if threads:
        parts.append(f"torch threads {torch.get_num_threads()}")
    parts.append(f"GPU {torch.cuda.get_device_name(gpu)}" if gpu is not None else "no GPU used")
    return ", ".join(parts)


def versions() -> Dict[str, str]:
    """torch, transformers, allennlp and Python versions."""
    import allennlp
    import transformers

    return {"torch": torch.__version__, "transformers": transformers.__version__,
            "allennlp": allennlp.__version__, "python": platform.python_version()}
