"""Hand-made `model.tar.gz` files: a config and a few text members, no weights (what the archive
checks read, without training anything)."""
import io
import json
import tarfile
from pathlib import Path
from typing import Any, Dict


def write_archive(path: Path, config: Dict[str, Any], files: Dict[str, str]) -> str:
    """`path` (its folder made) holding `config.json` and each of `files` (name: text)."""
    path.parent.mkdir(parents=True)
    with tarfile.open(path, "w:gz") as tar:
        for name, text in {"config.json": json.dumps(config), **files}.items():
            data = text.encode("utf-8")
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return str(path)
