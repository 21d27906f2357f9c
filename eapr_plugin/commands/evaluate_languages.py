"""
`allennlp evaluate-languages`: evaluate one archive on every language of a task in one call.
"""
import argparse
import glob
import json
import logging
import os
from typing import Any, Dict, List, Optional, Sequence

from allennlp.commands.subcommand import Subcommand
from allennlp.common import logging as common_logging
from allennlp.common.checks import ConfigurationError
from allennlp.common.util import prepare_environment
from allennlp.data import Instance
from allennlp.data.data_loaders import SimpleDataLoader
from allennlp.data.samplers import BucketBatchSampler
from allennlp.models.archival import load_archive
from allennlp.training.util import evaluate

from eapr_plugin.common.languages import check_language
from eapr_plugin.common.reporting import bar_chart, markdown_table, summarize
from eapr_plugin.dataset_readers.hf_datasets import is_hf_path

logger = logging.getLogger(__name__)

DATA_SUFFIXES = (".tsv", ".jsonl")


@Subcommand.register("evaluate-languages")
class EvaluateLanguages(Subcommand):
    """
    Loads a trained archive once and evaluates it on every language of a task, then writes
    `metrics.json` (per-language metrics and averages), `results.md` (a markdown table: accuracy per
    language, macro averages over non-English languages and over all, English) and
    `accuracy.png` (a bar chart) into `--output-dir`.

    Inputs are data files, globs (`data/xnli/dev-*.tsv`, `sib200/*/test.tsv`), folders (their
    `*.tsv` / `*.jsonl` files, or `*/{--split}.tsv` for one folder per language), or a Hugging Face
    path template with `{lang}` (`hf:facebook/xnli:{lang}:test`) together with `--languages`.

    Registered as a `Subcommand` with name "evaluate-languages".
    """

    requires_plugins = True

    def add_subparser(self, parser: argparse._SubParsersAction) -> argparse.ArgumentParser:
        description = "Evaluate an archive on every language of a task; write JSON, markdown, PNG."
        subparser = parser.add_parser(self.name, description=description, help=description)
        subparser.add_argument("archive_file", type=str, help="path or URL of the model archive")
        subparser.add_argument(
            "inputs", nargs="+", help="data files, globs, folders, or an hf:...{lang}... template"
        )
        subparser.add_argument("--output-dir", required=True, help="where results are written")
        subparser.add_argument(
            "--languages", nargs="+", default=None, help="languages for an hf:...{lang}... template"
        )
        subparser.add_argument(
            "--split", default="test", help="file name (without .tsv) inside per-language folders"
        )
        subparser.add_argument("--cuda-device", type=int, default=-1)
        subparser.add_argument("--batch-size", type=int, default=64)
        subparser.add_argument(
            "-o", "--overrides", type=str, default="", help="JSON overrides for the archive's config"
        )
        subparser.set_defaults(func=evaluate_languages_from_args)
        return subparser


def expand_inputs(
    inputs: Sequence[str], languages: Optional[Sequence[str]] = None, split: str = "test"
) -> List[str]:
    """Data paths named by files, globs, folders and `hf:` templates, in a stable order."""
    paths: List[str] = []
    for item in inputs:
        if is_hf_path(item):
            if "{lang}" in item:
                if not languages:
                    raise ConfigurationError(f"input {item!r} has {{lang}}: pass --languages")
                for language in languages:
                    check_language(language, "--languages")
                paths.extend(item.replace("{lang}", language) for language in languages)
            else:
                paths.append(item)
        elif os.path.isdir(item):
            found = sorted(
                p for p in glob.glob(os.path.join(item, "*")) if p.endswith(DATA_SUFFIXES)
            ) or sorted(glob.glob(os.path.join(item, "*", f"{split}.tsv")))
            if not found:
                raise ConfigurationError(
                    f"input folder {item!r} holds no *.tsv / *.jsonl files and no */{split}.tsv"
                )
            paths.extend(found)
        elif any(char in item for char in "*?["):
            found = sorted(glob.glob(item))
            if not found:
                raise ConfigurationError(f"input glob {item!r} matches no file")
            paths.extend(found)
        elif os.path.exists(item):
            paths.append(item)
        else:
            raise ConfigurationError(f"input {item!r} does not exist")
    return paths


def evaluate_languages(
    archive_file: str,
    inputs: Sequence[str],
    output_dir: str,
    languages: Optional[Sequence[str]] = None,
    split: str = "test",
    cuda_device: int = -1,
    batch_size: int = 64,
    overrides: str = "",
) -> Dict[str, Any]:
    from tqdm import tqdm

    paths = expand_inputs(inputs, languages, split)
    archive = load_archive(archive_file, cuda_device=cuda_device, overrides=overrides)
    prepare_environment(archive.config)
    model = archive.model
    model.eval()
    reader = archive.validation_dataset_reader
    results: Dict[str, Dict[str, Any]] = {}
    for path in tqdm(paths, desc="languages", disable=common_logging.FILE_FRIENDLY_LOGGING):
        instances = list(reader.read(path))
        if not instances:
            raise ConfigurationError(f"{path}: no instances to evaluate")
        language = _language_of(instances, path)
        if language in results:
            raise ConfigurationError(
                f"two inputs are language {language!r} ({results[language]['path']} and {path})"
            )
        loader = SimpleDataLoader(by_length(instances, batch_size), batch_size, vocab=model.vocab)
        metrics = evaluate(model, loader, cuda_device=cuda_device)
        results[language] = {**metrics, "path": path, "num_instances": len(instances)}
        logger.info("%s: accuracy %.4f (%d instances)", language, metrics["accuracy"], len(instances))

    accuracies = {language: result["accuracy"] for language, result in results.items()}
    summary = summarize(accuracies)
    os.makedirs(output_dir, exist_ok=True)
    title = os.path.basename(os.path.dirname(os.path.abspath(archive_file))) or archive_file
    report = {"archive": archive_file, "languages": results, "summary": summary}
    with open(os.path.join(output_dir, "metrics.json"), "w", encoding="utf-8") as handle:
        json.dump(report, handle, indent=2)
    with open(os.path.join(output_dir, "results.md"), "w", encoding="utf-8") as handle:
        handle.write(markdown_table({title: accuracies}))
    bar_chart({title: accuracies}, os.path.join(output_dir, "accuracy.png"), title)
    print(markdown_table({title: accuracies}))
    return report


def by_length(instances: List[Instance], batch_size: int) -> List[Instance]:
    """
    The instances reordered so that consecutive batches of `batch_size` hold similar lengths
    (AllenNLP's `BucketBatchSampler` on the `tokens` field, no noise, no shuffle): less padding
    per batch, the same instances, so the same accuracy.
    """
    sampler = BucketBatchSampler(batch_size, sorting_keys=["tokens"], shuffle=False)
    return [instances[i] for batch in sampler.get_batch_indices(instances) for i in batch]


def _language_of(instances, path: str) -> str:
    metadata = instances[0].fields.get("metadata")
    language = metadata.metadata.get("language") if metadata is not None else None
    return language or os.path.splitext(os.path.basename(path))[0]


def evaluate_languages_from_args(args: argparse.Namespace) -> Dict[str, Any]:
    return evaluate_languages(
        args.archive_file,
        args.inputs,
        args.output_dir,
        languages=args.languages,
        split=args.split,
        cuda_device=args.cuda_device,
        batch_size=args.batch_size,
        overrides=args.overrides,
    )

