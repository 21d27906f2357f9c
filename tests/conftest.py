"""
Shared fixtures. Tests run offline (HF_HUB_OFFLINE=1) on tiny encoders the suite builds itself
(cached in $EAPR_TEST_FIXTURES, default tests/fixtures/build) and task files written per session.
Tests that need the real data in ../shared/data skip when it is absent (a user's clone).
"""
import os

from tests.support.cli import OFFLINE, REPO

for _name, _value in {**OFFLINE, "TOKENIZERS_PARALLELISM": "false"}.items():
    os.environ.setdefault(_name, _value)

import pytest  # noqa: E402

from eapr_plugin.dataset_readers.pawsx import PAWSX_LABELS  # noqa: E402
from tests.support.durations import DurationRecorder, order_by_duration, recorded  # noqa: E402
from tests.support.tasks import write_pair_task, write_synonym_table, write_topic_task  # noqa: E402
from tests.support.tiny_encoders import build_tiny_encoders  # noqa: E402

SHARED_DATA = REPO.parent / "shared" / "data"
FIXTURE_CACHE = os.environ.get("EAPR_TEST_FIXTURES", str(REPO / "tests" / "fixtures" / "build"))


def pytest_addoption(parser):
    parser.addoption("--store-durations", action="store_true",
                     help="rewrite tests/durations.json with each test file's seconds in this run")


def pytest_configure(config):
    if config.getoption("store_durations"):
        config.pluginmanager.register(DurationRecorder(), "eapr_durations")


def pytest_collection_modifyitems(config, items):
    """Longest test files first, so that xdist's processes finish together (tests/support/durations.py)."""
    items[:] = order_by_duration(items, recorded())


@pytest.fixture(scope="session")
def tiny_encoders():
    """`{"tiny-bert": folder, "tiny-xlmr": folder}`, built once and cached."""
    return build_tiny_encoders(FIXTURE_CACHE)


@pytest.fixture(scope="session")
def nli_files(tmp_path_factory):
    """`{lang: path}` of XTREME-layout NLI files (`dev-{lang}.tsv`) over the shipped corpus."""
    return write_pair_task(str(tmp_path_factory.mktemp("nli")))


@pytest.fixture(scope="session")
def synonym_table(tmp_path_factory):
    return write_synonym_table(str(tmp_path_factory.mktemp("synonyms") / "synonyms.json"))


@pytest.fixture
def shared_data():
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data folder {SHARED_DATA} is absent (only beside the project's checkout)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def paws_files(tmp_path_factory):
    return write_pair_task(str(tmp_path_factory.mktemp("paws")), labels=PAWSX_LABELS)


@pytest.fixture(scope="session")
def topic_files(tmp_path_factory):
    return write_topic_task(str(tmp_path_factory.mktemp("sib")))


@pytest.fixture(scope="session")
def sib200_data(tmp_path_factory):
    """A `--data-dir` for `benchmarks/accuracy.py --protocol sib200`: `sib200/{lang}/{split}.tsv`."""
    data = tmp_path_factory.mktemp("data")
    for split in ("train", "dev", "test"):
        write_topic_task(str(data / "sib200"), split=split)
    return data
