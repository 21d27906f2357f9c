"""Packaging for eapr_plugin.

`install_requires` deliberately does not name allennlp: its wheel pins torch<1.13 and
transformers<4.21, which pip would then try to honour. Install the stack with `make venv`
(requirements.txt + constraints.txt, then allennlp with --no-deps; see docs/PINS.md).
"""
from setuptools import find_packages, setup

VERSION = {}
with open("eapr_plugin/version.py") as f:
    exec(f.read(), VERSION)

setup(
    name="eapr_plugin",
    version=VERSION["VERSION"],
    description=(
        "Embedding-Push, Attention-Pull and Robust targets (Ding et al., COLING 2022) "
        "for zero-shot cross-lingual classification, as an AllenNLP plugin"
    ),
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    packages=find_packages(include=["eapr_plugin", "eapr_plugin.*"]),
    python_requires=">=3.11",
    install_requires=[
        "torch>=2.1",
        "transformers>=4.40,<4.44",
        "huggingface_hub>=0.23,<1.0",
        "datasets>=2.19",
        "cached-path>=1.5,<2",
    ],
    license="Apache-2.0",
)
