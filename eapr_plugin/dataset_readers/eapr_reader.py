"""
The shared base of EAPR's dataset readers: validation, row ranges, sharding, tokenization and the
synonym perturbation that turns each English example into `num_perturbations` training pairs.
"""
import itertools
import logging
import random
from typing import Dict, Iterable, Iterator, List, Optional, Sequence, Union

import torch.distributed as dist
from allennlp.common.checks import ConfigurationError
from allennlp.common.util import is_distributed, lazy_groups_of
from allennlp.data import DatasetReader, Instance
from allennlp.data.fields import Field, LabelField, MetadataField, TextField
from allennlp.data.token_indexers import PretrainedTransformerIndexer, TokenIndexer
from allennlp.data.tokenizers import PretrainedTransformerTokenizer, Token, Tokenizer

from eapr_plugin.common.languages import check_language
from eapr_plugin.dataset_readers.hf_datasets import hf_rows, is_hf_path
from eapr_plugin.dataset_readers.rows import InvalidRowError, Row
from eapr_plugin.perturbers import PieceIds, Perturber

logger = logging.getLogger(__name__)

#: `cross:PREMISE_INPUT::HYPOTHESIS_INPUT`, the generalized cross-lingual setting (see `EaprReader`)
CROSS_PREFIX, CROSS_SEPARATOR = "cross:", "::"


def cross_lingual_path(premise_input: str, hypothesis_input: str) -> str:
    return f"{CROSS_PREFIX}{premise_input}{CROSS_SEPARATOR}{hypothesis_input}"


class EaprReader(DatasetReader):
    """
    Base class of the EAPR readers. Subclasses only say how rows come out of a file
    (`_read_rows`); this class validates them, applies an optional row range, shards them across
    distributed workers and data-loader processes, tokenizes single sentences or sentence pairs
    with a Hugging Face tokenizer, and, when a `perturber` is set, emits `num_perturbations`
    training pairs per example.

    Instances have the fields `tokens` (the original input), `label` (when the row has one),
    `metadata` (`language`, `example_id`, the texts) and, for training pairs only,
    `perturbed_tokens`. Without a perturber (evaluation, prediction, plain fine-tuning) there is
    no perturbed field.

    Perturbation is seeded per example and copy: copy `k` of example `id` uses
    `random.Random(f"{seed}|{id}|{k}")`, so the same seed gives the same copies whatever the
    sharding, the number of workers, the order of reading or a resumed run.

    # Parameters

    tokenizer : `Tokenizer`
        A `pretrained_transformer` tokenizer; its `max_length` truncates single sentences and
        pairs (pairs with HF's `longest_first`, as the authors' release).
    token_indexers : `Dict[str, TokenIndexer]`, optional
        Defaults to `{"tokens": pretrained_transformer}` for the tokenizer's model, with the
        `"tags"` namespace (so prediction can map ids back).
    perturber : `Perturber`, optional (default = `None`)
        Set it for training data (`{"type": "synonym", "table": PATH_OR_URL}`).
    num_perturbations : `int`, optional (default = `3`)
        Perturbed copies per example, each paired with its original (`num` in the paper).
    seed : `int`, optional (default = `7`)
        Seed of the perturbation.
    labels : `List[str]`, optional
        The valid labels; a row with another label is an error. Subclasses set their task's.
    language : `str`, optional
        Language tag for every instance (an ISO 639-1 or Flores-200 code; anything else is an
        error); by default taken from the row or the file name.
    start : `int`, optional / end : `int`, optional
        Read only data rows `start <= index < end` (0-based, header excluded), e.g. the reduced
        protocols "rows 0-1244 of dev-en.tsv" is `start: 0, end: 1245`.
    skip_invalid : `bool`, optional (default = `False`)
        False: the first invalid row is an error naming file and line. True: invalid rows are
        skipped, counted, and reported in a warning (with the first reasons) after the file;
        `skipped_rows` holds the count. Rows are never dropped silently.
    max_skipped_share : `float`, optional (default = `0.1`)
        With `skip_invalid`, skipping more than this share of the rows read is an error (a file
        of another layout would otherwise shrink to the few rows that happen to parse).
    min_changed_share : `float`, optional (default = `0.1`)
        With a perturber: below this share of perturbed copies that differ from their original,
        a warning names the perturber and the share; with no copy changed at all, reading fails
        (the pair method would train as plain fine-tuning under its own name).
    equal_shards : `bool`, optional (default = `False`)
        In distributed training, give every worker the same number of rows: the rows past the
        last whole round of one row per worker (at most world size − 1 of them) are left out, with
        a warning naming how many. AllenNLP 2.10's trainer deadlocks when the workers' shards differ
        by a batch under gradient accumulation (a worker whose last accumulation group is short
        reaches the metrics' all-reduce while another is still in the per-batch "done" check); the
        recipes set it on the training reader. Not distributed: no effect.

    The generalized cross-lingual setting (Robust-XLT; Huang et al., EMNLP 2021): a data path
    `cross:PREMISE_INPUT::HYPOTHESIS_INPUT` (each any path the reader takes) pairs the first text of
    each row of PREMISE_INPUT with the second text of the same row of HYPOTHESIS_INPUT, so premise
    and hypothesis are in different languages; the inputs must be parallel translations (XTREME's
    `dev-{lang}.tsv` files are): the same number of rows and the same label row by row, else an
    error naming both lines. The pair's language tag is `PREMISE/HYPOTHESIS` (e.g. `de/fr`).
    `allennlp evaluate ARCHIVE cross:dev-de.tsv::dev-fr.tsv` scores one pair of languages;
    `allennlp evaluate-languages ... --cross-lingual` every pair.

    Reading never returns nothing: a data source that yields no instance (empty file, header
    only, a row range past the end, a language filter that matches nothing, every row skipped)
    is a `ConfigurationError` naming the source and the settings that emptied it.
    """

    #: default label set of the task (None: any non-empty label).
    default_labels: Optional[Sequence[str]] = None
    #: whether the task classifies sentence pairs (the predictor requires a second text then).
    pair_task: bool = True

    def __init__(
        self,
        tokenizer: Tokenizer,
        token_indexers: Optional[Dict[str, TokenIndexer]] = None,
        perturber: Optional[Perturber] = None,
        num_perturbations: int = 3,
        seed: int = 7,
        labels: Optional[List[str]] = None,
        language: Optional[str] = None,
        start: Optional[int] = None,
        end: Optional[int] = None,
        skip_invalid: bool = False,
        max_skipped_share: float = 0.1,
        min_changed_share: float = 0.1,
        equal_shards: bool = False,
        **kwargs,
    ) -> None:
        super().__init__(
            manual_distributed_sharding=True, manual_multiprocess_sharding=True, **kwargs
        )
        self._equal_shards = equal_shards
        if not isinstance(tokenizer, PretrainedTransformerTokenizer):
            raise ConfigurationError(
                f"{type(self).__name__}: `tokenizer` must be of type 'pretrained_transformer', "
                f"got {type(tokenizer).__name__}"
            )
        if num_perturbations < 0:
            raise ConfigurationError(
                f"{type(self).__name__}: `num_perturbations` must be >= 0, got {num_perturbations} "
                "(EAPR_NUM_PERTURBATIONS in training_configs/)"
            )
        if perturber is not None and num_perturbations < 1:
            raise ConfigurationError(
                f"{type(self).__name__}: a perturber with `num_perturbations` = 0 makes no training "
                "pairs, so a pair method (RS-DA, EAPR) would quietly train as plain fine-tuning; set "
                "EAPR_NUM_PERTURBATIONS >= 1, or use the 'baseline' method for plain fine-tuning"
            )
        for name, value in (("max_skipped_share", max_skipped_share), ("min_changed_share", min_changed_share)):
            if not 0.0 <= value <= 1.0:
                raise ConfigurationError(f"{type(self).__name__}: `{name}` must be in [0, 1], got {value}")
        for name, value in (("start", start), ("end", end)):
            if value is not None and value < 0:
                raise ConfigurationError(f"{type(self).__name__}: `{name}` must be >= 0")
        self._tokenizer = tokenizer
        self._token_indexers = token_indexers or {
            "tokens": PretrainedTransformerIndexer(tokenizer._model_name, namespace="tags")
        }
        self._perturber = perturber
        self._num_perturbations = num_perturbations
        self._seed = seed
        self._labels = list(labels) if labels is not None else self.default_labels
        self._language = check_language(language, "language")
        self._start = start
        self._end = end
        self._skip_invalid = skip_invalid
        self._max_skipped_share = max_skipped_share
        self._min_changed_share = min_changed_share
        self.skipped_rows = 0
        #: after a read with a perturber: (copies made, copies that differ from their original)
        self.perturbation_counts = (0, 0)

    # ----- subclasses -------------------------------------------------------------------------
    def _read_rows(self, file_path: str) -> Iterator[Row]:
        """
        Yield every data row of `file_path` in order (header excluded). A row that cannot be
        parsed is yielded with `problem` set (not raised), so `skip_invalid` can count it.
        """
        raise NotImplementedError

    #: HF `datasets` columns (text_a, text_b or None, label, id or None) for `hf:` data paths.
    hf_columns: Optional[Sequence[Optional[str]]] = None

    # ----- reading ----------------------------------------------------------------------------
    def _rows(self, file_path: str) -> Iterator[Row]:
        if file_path.startswith(CROSS_PREFIX):
            return self._cross_rows(file_path)
        if is_hf_path(file_path):
            if self.hf_columns is None:
                raise ConfigurationError(
                    f"{type(self).__name__} cannot read Hugging Face data paths ({file_path!r})"
                )
            return hf_rows(file_path, self.hf_columns, self._language)
        return self._read_rows(file_path)

    def _cross_rows(self, file_path: str) -> Iterator[Row]:
        """Premise of each row of the first input with the hypothesis of the same row of the second."""
        inputs = file_path[len(CROSS_PREFIX):].split(CROSS_SEPARATOR)
        if len(inputs) != 2 or not all(inputs):
            raise ConfigurationError(f"{file_path!r}: a cross-lingual path is "
                                     f"{CROSS_PREFIX}PREMISE_INPUT{CROSS_SEPARATOR}HYPOTHESIS_INPUT")
        if not self.pair_task:
            raise ConfigurationError(f"{file_path!r}: {type(self).__name__} reads single texts; cross-lingual "
                                     "pairs need a sentence-pair task (xnli, pawsx)")
        premises, hypotheses = inputs
        for first, second in itertools.zip_longest(self._rows(premises), self._rows(hypotheses)):
            if first is None or second is None:
                longer, shorter = (premises, hypotheses) if second is None else (hypotheses, premises)
                raise ConfigurationError(f"{file_path!r}: the inputs are not parallel: {longer} has more rows "
                                         f"than {shorter}")
            if first.problem or second.problem:
                yield first if first.problem else second
                continue
            if first.label != second.label:
                raise ConfigurationError(f"{first.location} and {second.location}: labels differ ({first.label!r} "
                                         f"vs {second.label!r}), so the inputs are not parallel translations")
            languages = (first.language, second.language)
            yield Row(first.text_a, second.text_b, first.label,
                      "/".join(languages) if all(languages) else None,
                      f"{first.example_id}/{second.example_id}", f"{first.location} + {second.location}")

    def _read(self, file_path: str) -> Iterable[Instance]:
        self.skipped_rows = 0
        self.perturbation_counts = (0, 0)
        reasons: List[str] = []
        counts = {"read": 0, "valid": 0}
        labels_seen = set()

        def counted(rows: Iterable[Row], key: str) -> Iterator[Row]:
            for row in rows:
                counts[key] += 1
                if key == "valid" and row.label is not None:
                    labels_seen.add(row.label)
                yield row

        rows = counted(itertools.islice(self._rows(file_path), self._start, self._end), "read")
        valid = counted(self._validated(rows, reasons), "valid")
        if self._equal_shards and is_distributed():
            valid = self._whole_rounds(valid, dist.get_world_size(), file_path)
        for row in self.shard_iterable(valid):
            yield from self._row_instances(row)
        if counts["valid"] == 0:
            raise ConfigurationError(self._nothing_read(file_path, counts["read"], reasons))
        if self.skipped_rows:
            logger.warning(
                "%s: skipped %d of %d invalid row(s) (skip_invalid=True); first: %s",
                file_path, self.skipped_rows, counts["read"], "; ".join(reasons[:5]),
            )
            if self.skipped_rows > self._max_skipped_share * counts["read"]:
                raise ConfigurationError(
                    f"{file_path}: {self.skipped_rows} of {counts['read']} rows are invalid, more than "
                    f"`max_skipped_share` = {self._max_skipped_share} of them: is this the reader's layout? "
                    f"First: {'; '.join(reasons[:3])}"
                )
        self._check_perturbation(file_path)
        missing = sorted(set(self._labels or ()) - labels_seen) if labels_seen else []
        if missing:
            logger.warning(
                "%s: no row has the label(s) %s that the task declares (setting `labels`); a model "
                "trained on it never learns them", file_path, missing,
            )

    @staticmethod
    def _whole_rounds(rows: Iterable[Row], size: int, file_path: str) -> Iterator[Row]:
        """The rows in whole rounds of `size` (one per worker); the rest is left out, with a warning.
        Fewer rows than workers is an error: every worker would train on nothing."""
        rounds = 0
        for group in lazy_groups_of(rows, size):
            if len(group) == size:
                rounds += 1
                yield from group
            elif rounds == 0:
                raise ConfigurationError(
                    f"{file_path}: {len(group)} row(s) for {size} distributed workers: with `equal_shards` "
                    "each worker needs at least one row"
                )
            else:
                logger.warning(
                    "%s: left out the last %d row(s) so that each of the %d distributed workers trains on "
                    "the same number of rows (`equal_shards`)", file_path, len(group), size,
                )

    def _nothing_read(self, file_path: str, rows_read: int, reasons: List[str]) -> str:
        settings = f"`start` = {self._start}, `end` = {self._end}, `language` = {self._language!r}"
        where = ("EAPR_TRAIN_DATA / EAPR_DEV_DATA and their _START / _END rows in training_configs/, "
                 "or the data path you evaluate")
        if rows_read == 0 and self._start:
            why = f"the row range starts at row {self._start}, at or past the end of the data"
        elif rows_read == 0:
            why = "it holds no data rows (empty, header only" + (
                f", or no row of language {self._language!r}" if self._language else "") + ")"
        else:
            why = (f"all {rows_read} rows read were invalid and skipped (skip_invalid=True); "
                   f"first: {'; '.join(reasons[:3])}")
        return f"{file_path}: no instances to read: {why} (reader settings {settings}; set by {where})"

    def _check_perturbation(self, file_path: str) -> None:
        made, changed = self.perturbation_counts
        if self._perturber is None or made == 0:
            return
        share = changed / made
        table = getattr(self._perturber, "describe", lambda: type(self._perturber).__name__)()
        logger.info("%s: %d of %d perturbed copies differ from their original (%.1f%%; %s)",
                    file_path, changed, made, 100 * share, table)
        if changed == 0:
            raise ConfigurationError(
                f"{file_path}: none of the {made} perturbed copies differs from its original ({table}): "
                "the pair method would train as plain fine-tuning. Check that the perturbation fits "
                "the data (EAPR_SYNONYMS: a table in the training data's language and casing)"
            )
        if share < self._min_changed_share:
            logger.warning(
                "%s: only %.1f%% of the perturbed copies differ from their original (%s; warning below "
                "`min_changed_share` = %s): the pair method is close to plain fine-tuning",
                file_path, 100 * share, table, self._min_changed_share,
            )

    def _validated(self, rows: Iterable[Row], reasons: List[str]) -> Iterator[Row]:
        for row in rows:
            problem = self._problem(row)
            if problem is None:
                yield row
            elif self._skip_invalid:
                self.skipped_rows += 1
                reasons.append(problem)
            else:
                raise InvalidRowError(problem)

    def _problem(self, row: Row) -> Optional[str]:
        if row.problem is not None:
            return f"{row.location}: {row.problem}"
        if not row.text_a.strip():
            return f"{row.location}: empty first text field"
        if row.text_b is not None and not row.text_b.strip():
            return f"{row.location}: empty second text field"
        if row.label is not None:
            if not row.label.strip():
                return f"{row.location}: empty label"
            if self._labels is not None and row.label not in self._labels:
                return (
                    f"{row.location}: unknown label {row.label!r} "
                    f"(setting `labels` = {list(self._labels)})"
                )
        return None

    def _row_instances(self, row: Row) -> Iterator[Instance]:
        language = self._language or row.language
        if self._perturber is None or self._num_perturbations == 0:
            yield self.text_to_instance(
                row.text_a, row.text_b, row.label, language=language, example_id=row.example_id,
                location=row.location,
            )
            return
        for copy in range(self._num_perturbations):
            rng = random.Random(f"{self._seed}|{row.example_id}|{copy}")
            perturbed_a, perturbed_b = self._perturber.perturb_pair(row.text_a, row.text_b, rng)
            made, changed = self.perturbation_counts
            differs = self._differs(perturbed_a, row.text_a) or self._differs(perturbed_b, row.text_b)
            self.perturbation_counts = (made + 1, changed + int(differs))
            yield self.text_to_instance(
                row.text_a,
                row.text_b,
                row.label,
                perturbed_a=perturbed_a,
                perturbed_b=perturbed_b,
                language=language,
                example_id=row.example_id,
                copy=copy,
                location=row.location,
            )

    # ----- instances --------------------------------------------------------------------------
    def _encode(self, text_a: Union[str, PieceIds], text_b: Union[str, PieceIds, None]) -> List[Token]:
        if isinstance(text_a, PieceIds):
            return self._encode_pieces(text_a, text_b)
        if text_b is None:
            return self._tokenizer.tokenize(text_a)
        max_length = self._tokenizer._max_length
        encoded = self._tokenizer.tokenizer(
            text_a,
            text_b,
            add_special_tokens=True,
            truncation="longest_first" if max_length is not None else False,
            max_length=max_length,
            return_token_type_ids=True,
            return_attention_mask=False,
        )
        ids = encoded["input_ids"]
        pieces = self._tokenizer.tokenizer.convert_ids_to_tokens(ids)
        return [
            Token(text=piece, text_id=index, type_id=type_id)
            for piece, index, type_id in zip(pieces, ids, encoded["token_type_ids"])
        ]

    def _encode_pieces(self, ids_a: List[int], ids_b: Optional[List[int]]) -> List[Token]:
        """Piece ids from a segmenting perturber, with the special tokens, type ids and
        `longest_first` truncation that text gets."""
        hf = self._tokenizer.tokenizer
        max_length = self._tokenizer._max_length
        if max_length is not None:
            overflow = len(ids_a) + len(ids_b or []) + hf.num_special_tokens_to_add(pair=ids_b is not None) - max_length
            if overflow > 0:
                ids_a, ids_b, _ = hf.truncate_sequences(list(ids_a), list(ids_b) if ids_b is not None else None,
                                                        num_tokens_to_remove=overflow,
                                                        truncation_strategy="longest_first")
        ids = hf.build_inputs_with_special_tokens(list(ids_a), list(ids_b) if ids_b is not None else None)
        types = hf.create_token_type_ids_from_sequences(list(ids_a), list(ids_b) if ids_b is not None else None)
        pieces = hf.convert_ids_to_tokens(ids)
        return [Token(text=piece, text_id=index, type_id=type_id) for piece, index, type_id in zip(pieces, ids, types)]

    def _differs(self, perturbed: Union[str, PieceIds, None], original: Optional[str]) -> bool:
        if isinstance(perturbed, PieceIds):
            return list(perturbed) != self._tokenizer.tokenizer.encode(original, add_special_tokens=False)
        return perturbed != original

    def text_to_instance(  # type: ignore
        self,
        text_a: str,
        text_b: Optional[str] = None,
        label: Optional[str] = None,
        perturbed_a: Optional[str] = None,
        perturbed_b: Optional[str] = None,
        language: Optional[str] = None,
        example_id: Optional[str] = None,
        copy: Optional[int] = None,
        location: Optional[str] = None,
    ) -> Instance:
        """
        One instance: `text_a` (and `text_b` for pairs) as `tokens`; with `perturbed_a` (and
        `perturbed_b`), the perturbed copy as `perturbed_tokens`.
        """
        fields: Dict[str, Field] = {"tokens": TextField(self._encode(text_a, text_b))}
        metadata = {
            "language": language or self._language,
            "example_id": example_id,
            "location": location,
            "text_a": text_a,
            "text_b": text_b,
        }
        if perturbed_a is not None:
            fields["perturbed_tokens"] = TextField(self._encode(perturbed_a, perturbed_b))
            metadata.update(perturbed_a=self._readable(perturbed_a), perturbed_b=self._readable(perturbed_b), copy=copy)
        if label is not None:
            fields["label"] = LabelField(label)
        fields["metadata"] = MetadataField(metadata)
        return Instance(fields)

    def _readable(self, perturbed: Union[str, PieceIds, None]) -> Optional[str]:
        """Text as is; sampled pieces as the space-joined piece strings."""
        if isinstance(perturbed, PieceIds):
            return " ".join(self._tokenizer.tokenizer.convert_ids_to_tokens(list(perturbed)))
        return perturbed

    def apply_token_indexers(self, instance: Instance) -> None:
        instance["tokens"].token_indexers = self._token_indexers  # type: ignore
        if "perturbed_tokens" in instance.fields:
            instance["perturbed_tokens"].token_indexers = self._token_indexers  # type: ignore
