"""
Put this folder first on `PYTHONPATH` on a machine that should run `allennlp train` /
`evaluate-languages` without spaCy and without the cloud clients of `cached_path`, which AllenNLP
imports at start-up and this project's runs never call (its readers tokenize with Hugging Face
tokenizers and read local files). Python imports `sitecustomize` at start-up; this one answers
`spacy`, `boto3`, `botocore`, `google.cloud`, `google.api_core` and `google.auth` (and their
submodules) with empty modules, so a GPU machine that takes 64 MiB a call needs neither spaCy's
35 MB wheel (with blis and thinc) nor botocore's. A name read from such a module is a submodule when
it starts with a lower-case letter (`from google.cloud import storage`) and otherwise a new, empty
exception class (`except botocore.exceptions.ClientError`, `class X(Language)`). Calling a function of
such a module fails (`spacy.load(...)`: a module is not callable); an instance of one of its classes
is an empty exception, which nothing in these runs makes. Used for the seventh round of issue #15 (docs/benchmarks.md).
"""
import importlib
import importlib.abc
import importlib.machinery
import sys
import types

STUBBED = ("spacy", "boto3", "botocore", "google.cloud", "google.api_core", "google.auth")


class _Empty(types.ModuleType):
    __path__ = []  # a package: its submodules come from the finder below

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        if name[:1].islower():
            return importlib.import_module(f"{self.__name__}.{name}")
        value = type(name, (Exception,), {"__module__": self.__name__})
        setattr(self, name, value)
        return value


class _EmptyModules(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, fullname, path, target=None):
        if any(fullname == name or fullname.startswith(name + ".") for name in STUBBED):
            return importlib.machinery.ModuleSpec(fullname, self, is_package=True)
        return None

    def create_module(self, spec):
        module = _Empty(spec.name)
        module.__version__ = "0.0.0 (empty stand-in, benchmarks/device/stubs)"
        return module

    def exec_module(self, module):
        pass


sys.meta_path.insert(0, _EmptyModules())
