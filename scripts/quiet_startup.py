"""
Keep `allennlp` start-up free of warnings that are about the environment, not the user's run
(`make venv` runs this once; docs/PINS.md explains each). AllenNLP imports torchvision and every
submodule of allennlp-models before any plugin loads, so neither can be silenced from the plugin:

1. torchvision 0.16.2 (the last release that imports beside a CPU torch 2.13, see PINS.md) warns
   that its optional image extension does not load. AllenNLP imports torchvision only for its
   image loader, which no text model uses. A one-line `.pth` file in the venv's site-packages
   installs a warnings filter for exactly that message, attributed to `torchvision.io.image`. The
   same line filters the `torch.cuda.amp.autocast(args...)` FutureWarning that AllenNLP 2.10's
   trainer triggers on today's torch at its first training and validation batch.
2. allennlp-models' NarrativeQA metric module runs `nltk.download("punkt")` at import unless
   `nltk.data.find("tokenizers/punkt")` succeeds; offline that download prints
   `[nltk_data] Error loading punkt ...` on every command. NLTK's data cannot be fetched from a
   package registry, so this writes an *empty, labelled* `tokenizers/punkt` folder into the venv's
   own NLTK data path (`$VENV/nltk_data`). Nothing in this project tokenizes with NLTK; code that
   did would still fail loudly (NLTK 3.9+ looks for `punkt_tab`, which is not there).

(The third warning, `pkg_resources is deprecated` from py-rouge, is avoided by pinning
setuptools<80, where it is a DeprecationWarning that Python hides by default.)
"""
import sys
import sysconfig
from pathlib import Path

PTH_NAME = "eapr_quiet_startup.pth"
PTH_LINE = (
    "import warnings; warnings.filterwarnings('ignore', message='Failed to load image Python extension', "
    "category=UserWarning, module='torchvision.io.image'); "
    "warnings.filterwarnings('ignore', message=r'`torch.cuda.amp.autocast\\(args...\\)` is deprecated', "
    "category=FutureWarning, module='allennlp.training.gradient_descent_trainer')\n"
)
PUNKT_NOTE = (
    "Placeholder written by eapr_plugin's scripts/quiet_startup.py: it only stops allennlp-models'\n"
    "NarrativeQA metric module from trying to download NLTK's punkt at import on an offline machine.\n"
    "It holds no model; NLTK code that needs punkt/punkt_tab still fails with a LookupError.\n"
)


def main() -> None:
    site = Path(sysconfig.get_paths()["purelib"])
    (site / PTH_NAME).write_text(PTH_LINE, encoding="utf-8")
    punkt = Path(sys.prefix) / "nltk_data" / "tokenizers" / "punkt"
    punkt.mkdir(parents=True, exist_ok=True)
    (punkt / "README.eapr_plugin").write_text(PUNKT_NOTE, encoding="utf-8")
    print(f"quiet start-up: {site / PTH_NAME}, {punkt}")


if __name__ == "__main__":
    main()
