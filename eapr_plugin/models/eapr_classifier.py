"""
The EAPR classifier: one multilingual encoder, two streams in training, one at inference.
"""
import logging
import math
import os
import re
from contextlib import nullcontext
from functools import reduce
from typing import Any, Dict, List, Optional, Tuple

import torch
from allennlp.common import Lazy
from allennlp.common.checks import ConfigurationError
from allennlp.data import TextFieldTensors, Vocabulary
from allennlp.models.model import Model
from allennlp.modules import FeedForward, Seq2VecEncoder, TextFieldEmbedder
from allennlp.modules.text_field_embedders import BasicTextFieldEmbedder
from allennlp.modules.token_embedders import PretrainedTransformerEmbedder
from allennlp.nn import InitializerApplicator, util
from allennlp.training.metrics import Average, CategoricalAccuracy

from eapr_plugin.losses.pair_loss import PairLoss, StreamOutput, StreamRequest
from eapr_plugin.modules.activation_capture import capture_activations, trim_after_layer
from eapr_plugin.training.metrics.language_accuracy import LanguageAccuracy

logger = logging.getLogger(__name__)


@Model.register("eapr_classifier")
class EaprClassifier(Model):
    """
    Zero-shot cross-lingual text classifier trained with Embedding-Push, Attention-Pull and Robust
    targets (Ding et al., COLING 2022). In training, each instance carries the original English
    input (`tokens`, `x`) and one perturbed copy (`perturbed_tokens`, `x~`); both go through the
    same encoder and classifier, in one encoder call (`_run_pair`), and the loss is

        L = w · CE(f(x~), y) + Σ_k weight_k · term_k(x, x~, y)

    where the terms are the configured `PairLoss`es and w is `perturbed_ce_weight` (1, the
    paper's); with the paper's list this is `CE(f(x~), y) + 1·CE(f(x), y) + 0.1·EP + 1.0·AP`. An
    empty `loss_terms` list with perturbed instances is RS-DA (fine-tuning on the perturbed
    copies); without perturbed instances it is plain fine-tuning on `tokens`. At inference only
    `tokens` is used, through the plain classifier.

    The classifier `f` is composed from config as AllenNLP's `basic_classifier` composes it:
    encoder → (`sequence_dropout`) → `seq2vec_encoder` → `dropout` → (`feedforward`) → linear.
    The recipes (`training_configs/eapr.libsonnet`) compose the release's heads this way: the BERT
    pooler head (`bert_pooler` → dropout → linear), the RoBERTa head (sequence dropout →
    `cls_pooler` → dropout → tanh feedforward with dropout → linear), and a mean-pool head
    (`boe` averaged → dropout → linear). The two sub-modules are `Lazy`: the model passes them the
    encoder's hidden size (`embedding_dim`, `input_dim`, `hidden_dims`) and name
    (`pretrained_model`), so a config need not repeat them. The encoder's own pooler is removed
    (the `bert_pooler` seq2vec encoder holds a copy), so no parameter is left unused.

    The output dict holds `logits` and `probs` (of the `tokens` stream whenever it is run, else of
    the perturbed stream), `loss` when a label is given, and, whenever both streams and the label
    are given (train or eval mode), `task_loss` (CE on the perturbed stream) and each configured
    term's **unweighted** value as a 0-dim tensor under `f"{name}_loss"`. Every one of these is
    also reported as a running-average metric, next to `accuracy` (on the stream of `logits`),
    `accuracy_{lang}` per language tag of the instances' metadata (reduced across distributed
    workers even when they see different languages) and `perturbed_changed`, the share of pairs
    whose perturbed copy differs from its original.

    Nothing silent: training pair terms without perturbed copies is an error (the method would be
    off), and `get_metrics` after evaluating instances without a gold label is an error (an
    accuracy of nothing), pointing to `allennlp predict`.

    Registered as a `Model` with name "eapr_classifier".

    # Parameters

    vocab : `Vocabulary`
    text_field_embedder : `TextFieldEmbedder`
        Must hold exactly one `pretrained_transformer` token embedder (the HF encoder), without
        `max_length` folding.
    seq2vec_encoder : `Lazy[Seq2VecEncoder]`
        Pools the encoder's sequence output into one vector per input (`bert_pooler`,
        `cls_pooler`, `boe`, ...).
    feedforward : `Lazy[FeedForward]`, optional (default = `None`)
        Layers between the pooled vector (after `dropout`) and the linear classification layer.
    dropout : `float`, optional (default = `0.0`)
        Dropout on the pooled vector.
    sequence_dropout : `float`, optional (default = `0.0`)
        Dropout on the encoder's whole sequence output before pooling (the RoBERTa head of the
        release applies it, then dropout again on the first token).
    loss_terms : `List[PairLoss]`, optional (default = `[]`)
        The extra terms with their weights, e.g. `[{"type": "robust_targets", "weight": 1.0},
        {"type": "embedding_push", "weight": 0.1}, {"type": "attention_pull", "weight": 1.0,
        "layer": 5}]`. Names must be unique. Each term's `request()` says what it needs from the
        encoder; the model merges those requests.
    attention_capture : `str`, optional (default = `"one_layer"`)
        How Attention-Pull's layer is read: `"one_layer"` asks only that layer for its attention
        probabilities (the fast path), `"all_layers"` runs HF's `output_attentions=True` and keeps
        one (the reference path, for benchmarks).
    balance : `Dict[str, float]`, optional (default = `None`)
        Balanced weights, a **deviation from the paper** (off by default): `{term name: share}`
        sets each named term's weight so that the gradient norm of the weighted term on the
        encoder's parameters is `share` × that of the task CE, both averaged over the first
        `balance_batches` training batches (distributed workers average theirs), after which the
        weights are frozen, logged, reported as `weight_{name}` metrics and saved with the model (a
        `--recover`ed or loaded model keeps them). Until then the term's configured weight applies.
        A share bounds a term's pull on the encoder whatever its raw scale (the paper's β = 100
        makes Attention-Pull 2.7× the task CE's gradient and collapses training; a share of 0.5
        cannot).
    balance_batches : `int`, optional (default = `8`)
    ramp_up : `Dict[str, int]`, optional (default = `None`)
        A weight ramp-up, a **deviation from the paper** (off by default): `{term name: N}` multiplies
        the named term's weight (configured or balanced) by exp(−5 (1 − t)²), t = min(1, n / N), where
        n counts the training batches before this one (the sigmoid-shaped ramp-up of consistency
        weights in Laine & Aila, ICLR 2017, and Mean Teacher, Tarvainen & Valpola, NeurIPS 2017).
        A consistency target is the model's own prediction, which is noise at the start; the ramp
        lets the task CE fit first. n counts batches, not optimizer steps (with gradient
        accumulation, N batches are N / accumulation steps), is saved with the model (a
        `--recover`ed run continues the ramp), and each ramped term's current weight (the one the
        next training batch gets) is reported as the `weight_{name}` metric.
    perturbed_ce_weight : `float`, optional (default = `1.0`)
        w above, the weight of the task CE on the perturbed stream (`task_loss`, still logged
        unweighted). 1 is the paper's (and RS-DA's); another value is a **deviation from the paper**:
        at 0 the perturbed copies train only through the terms, so robust targets plus
        `prediction_consistency` with `target: "original"` is UDA's objective on labelled pairs
        (Xie et al., NeurIPS 2020): the English CE, and the perturbed prediction pulled toward the
        English one instead of fitted to the label. It applies only to the perturbed stream: a
        training batch without perturbed copies is an error when it is not 1, and 0 with no term of
        weight > 0 (nor a balanced one) leaves nothing to train (an error). Balanced weights stay
        relative to the unweighted CE.
    trim_after_pulled_layer : `bool`, optional (default = `True`)
        In exact mode, run the encoder layers after Attention-Pull's on the batch's real length
        instead of `max_length` (same values, less work; `False` is the reference for benchmarks).
    freeze : `List[str]`, optional (default = `None`)
        Regular expressions (`re.search`) over the model's parameter names; every matching
        parameter keeps its pretrained (or initialized) value: `requires_grad` is off from
        construction, so the optimizer never sees it and DDP never waits for its gradient.
        `["transformer_model\\.embeddings\\."]` freezes the encoder's embedding layer, which keeps
        the pretrained alignment of the languages that English fine-tuning never touches (Wu &
        Dredze, EMNLP 2019, freeze mBERT's embeddings and lower layers for zero-shot transfer); a
        **deviation from the paper**, which fine-tunes every parameter. A pattern that matches no
        parameter, freezing every parameter, or a weighted loss term whose value then reaches no
        trainable parameter (Embedding-Push, which acts on the embedding layer alone, with that
        layer frozen; checked on the first training batch) is an error. AllenNLP's own `trainer.no_grad` does
        the same after the model is built, but it skips a pattern that matches nothing without a
        word and runs after the DDP wrapper has registered the parameters.
    label_namespace : `str`, optional (default = `"labels"`)
    initializer : `InitializerApplicator`, optional
    """

    default_predictor = "eapr_classifier"

    def __init__(
        self,
        vocab: Vocabulary,
        text_field_embedder: TextFieldEmbedder,
        seq2vec_encoder: Lazy[Seq2VecEncoder],
        feedforward: Optional[Lazy[FeedForward]] = None,
        dropout: float = 0.0,
        sequence_dropout: float = 0.0,
        loss_terms: Optional[List[PairLoss]] = None,
        attention_capture: str = "one_layer",
        trim_after_pulled_layer: bool = True,
        balance: Optional[Dict[str, float]] = None,
        balance_batches: int = 8,
        ramp_up: Optional[Dict[str, int]] = None,
        perturbed_ce_weight: float = 1.0,
        freeze: Optional[List[str]] = None,
        label_namespace: str = "labels",
        initializer: Optional[InitializerApplicator] = None,
        **kwargs,
    ) -> None:
        super().__init__(vocab, **kwargs)
        self._text_field_embedder = text_field_embedder
        self._transformer = self._find_transformer_embedder(text_field_embedder).transformer_model
        config = self._transformer.config
        self._label_namespace = label_namespace
        self._num_labels = vocab.get_vocab_size(namespace=label_namespace)
        if self._num_labels < 2:
            raise ConfigurationError(
                f"eapr_classifier: the vocabulary namespace {label_namespace!r} has "
                f"{self._num_labels} label(s); check the reader's labels and `label_namespace`"
            )
        self._check_recovered_labels()
        for name, value in (("dropout", dropout), ("sequence_dropout", sequence_dropout)):
            if not 0.0 <= value < 1.0:
                raise ConfigurationError(f"eapr_classifier: `{name}` must be in [0, 1), got {value}")

        # The head, composed from config (see the class docstring). A `bert_pooler` is built from
        # the encoder's config alone and takes the pooler weights of the encoder already loaded.
        dims = dict(embedding_dim=config.hidden_size, input_dim=config.hidden_size,
                    hidden_dims=config.hidden_size, pretrained_model=config.name_or_path, load_weights=False)
        self._sequence_dropout = torch.nn.Dropout(sequence_dropout) if sequence_dropout else None
        self._seq2vec_encoder = seq2vec_encoder.construct(**dims)
        encoder_pooler = getattr(self._transformer, "pooler", None)
        head_pooler = getattr(self._seq2vec_encoder, "pooler", None)
        if encoder_pooler is not None and isinstance(head_pooler, torch.nn.Module):
            head_pooler.load_state_dict(encoder_pooler.state_dict())
        if encoder_pooler is not None:
            self._transformer.pooler = None
        self._dropout = torch.nn.Dropout(dropout) if dropout else None
        self._feedforward = None
        output_dim = self._seq2vec_encoder.get_output_dim()
        if feedforward is not None:
            self._feedforward = feedforward.construct(**{**dims, "input_dim": output_dim})
            output_dim = self._feedforward.get_output_dim()
        self._classification_layer = torch.nn.Linear(output_dim, self._num_labels)

        self._loss_terms = torch.nn.ModuleList(loss_terms or [])
        names = [term.name for term in self._loss_terms]
        if len(set(names)) != len(names):
            raise ConfigurationError(f"eapr_classifier: `loss_terms` repeats a term: {names}")
        self._request = reduce(StreamRequest.merge, (t.request() for t in self._loss_terms), StreamRequest())
        self._balance = dict(balance or {})
        unknown = set(self._balance) - set(names)
        if unknown or any(share <= 0 for share in self._balance.values()) or balance_batches < 1:
            raise ConfigurationError(
                f"eapr_classifier: `balance` must map configured term names {names} to shares > 0 and "
                f"`balance_batches` must be >= 1; got {self._balance} and {balance_batches} (EAPR_BALANCE)"
            )
        self._balance_batches = balance_batches
        self._ramp_up = dict(ramp_up or {})
        if set(self._ramp_up) - set(names) or any(int(n) != n or n < 1 for n in self._ramp_up.values()):
            raise ConfigurationError(
                f"eapr_classifier: `ramp_up` must map configured term names {names} to numbers of batches "
                f">= 1; got {self._ramp_up} (EAPR_RAMP_UP)"
            )
        weighted = {term.name: term.weight for term in self._loss_terms}
        if perturbed_ce_weight < 0 or (
            perturbed_ce_weight == 0 and not any(self._trains(term) for term in self._loss_terms)
        ):
            raise ConfigurationError(
                f"eapr_classifier: `perturbed_ce_weight` must be >= 0, and > 0 unless a term of `loss_terms` "
                f"has a weight > 0 (nothing would train); got {perturbed_ce_weight} with term weights "
                f"{weighted} (EAPR_PERTURBED_CE_WEIGHT)"
            )
        self._perturbed_ce_weight = perturbed_ce_weight
        # frozen balanced weights (0: not measured yet) and the running gradient-norm sums
        # (task CE first, then each term), saved with the model
        persistent = bool(self._balance)  # models without balancing keep their state dict as before
        self.register_buffer("_balanced_weights", torch.zeros(len(names)), persistent=persistent)
        self.register_buffer("_balance_sums", torch.zeros(len(names) + 1, dtype=torch.float64), persistent=persistent)
        self.register_buffer("_balance_seen", torch.zeros((), dtype=torch.long), persistent=persistent)
        # training batches seen by the ramp-up, saved with the model when there is one
        self.register_buffer("_ramp_seen", torch.zeros((), dtype=torch.long), persistent=bool(self._ramp_up))
        layer = self._request.attention_layer
        if layer is not None and layer >= config.num_hidden_layers:
            raise ConfigurationError(
                f"attention_pull: `layer` = {layer} is beyond the encoder {config.name_or_path!r}, "
                f"which has {config.num_hidden_layers} layers (valid: 0..{config.num_hidden_layers - 1}); "
                "set `loss_terms[].layer` (EAPR_LAYER in training_configs/)"
            )
        if attention_capture not in ("one_layer", "all_layers"):
            raise ConfigurationError(
                f"eapr_classifier: `attention_capture` must be 'one_layer' or 'all_layers', "
                f"got {attention_capture!r}"
            )
        self._all_layer_attentions = attention_capture == "all_layers"
        self._trim_after_pulled_layer = trim_after_pulled_layer
        self._pad_token_id = config.pad_token_id if config.pad_token_id is not None else 0

        self._accuracy = CategoricalAccuracy()
        self._language_accuracy = LanguageAccuracy()
        self._term_averages: Dict[str, Average] = {}
        for name in ["task"] + names:
            self._term_averages[f"{name}_loss"] = Average()
        self._perturbed_share = Average()
        self._unlabelled = 0
        self._batches_seen = 0
        if initializer is not None:
            initializer(self)
        self._frozen_patterns = list(freeze or [])
        self._freeze(self._frozen_patterns)

    def _freeze(self, patterns: List[str]) -> None:
        """Turns `requires_grad` off for every parameter a `freeze` pattern matches (see the docstring)."""
        if not patterns:
            return
        named = dict(self.named_parameters())
        frozen = set()
        for pattern in patterns:
            try:
                regex = re.compile(pattern)
            except re.error as error:
                raise ConfigurationError(
                    f"eapr_classifier: `freeze` pattern {pattern!r} is not a regular expression: {error} (EAPR_FREEZE)"
                )
            matched = {name for name in named if regex.search(name)}
            if not matched:
                example = next((name for name in named if "embeddings" in name), next(iter(named)))
                raise ConfigurationError(
                    f"eapr_classifier: `freeze` pattern {pattern!r} matches no parameter of the model; "
                    f"names look like {example!r} (EAPR_FREEZE)"
                )
            frozen |= matched
        if len(frozen) == len(named):
            raise ConfigurationError(
                f"eapr_classifier: `freeze` {patterns} matches every parameter; nothing would train (EAPR_FREEZE)"
            )
        for name in frozen:
            named[name].requires_grad_(False)
        values = sum(named[name].numel() for name in frozen)
        logger.info(
            "Frozen (`freeze` %s): %d of %d parameter tensors, %d of %d values",
            patterns, len(frozen), len(named), values, sum(p.numel() for p in named.values()),
        )

    def _check_recovered_labels(self) -> None:
        """
        `allennlp train --recover` rebuilds the vocabulary from the training data before it loads
        the checkpoint; if the data changed since the run started, label ids would silently mean
        other labels. The run folder's saved vocabulary (written when the run started) decides.
        """
        saved = os.path.join(self.serialization_dir or "", "vocabulary", f"{self._label_namespace}.txt")
        if not self.serialization_dir or not os.path.isfile(saved):
            return
        with open(saved, encoding="utf-8") as handle:
            before = [line.rstrip("\n") for line in handle if line.rstrip("\n")]
        now = [self.vocab.get_token_from_index(i, self._label_namespace) for i in range(self._num_labels)]
        if before != now:
            raise ConfigurationError(
                f"eapr_classifier: the label vocabulary built from the training data now ({now}) differs "
                f"from the one the run in {self.serialization_dir} was trained with ({before}), so its "
                "checkpoints would be resumed with their labels swapped. Restore the training data the run "
                "started with, or start a new run (another -s folder, or --force) instead of --recover"
            )

    @staticmethod
    def _find_transformer_embedder(embedder: TextFieldEmbedder) -> PretrainedTransformerEmbedder:
        token_embedders = (
            list(embedder._token_embedders.values())
            if isinstance(embedder, BasicTextFieldEmbedder)
            else []
        )
        transformers = [e for e in token_embedders if isinstance(e, PretrainedTransformerEmbedder)]
        if len(transformers) != 1 or len(token_embedders) != 1:
            raise ConfigurationError(
                "eapr_classifier: `text_field_embedder` must be a basic embedder with exactly one "
                "token embedder of type 'pretrained_transformer'"
            )
        if transformers[0]._max_length is not None:
            raise ConfigurationError(
                "eapr_classifier: the 'pretrained_transformer' embedder's `max_length` (folding of "
                "long inputs) is not supported; truncate in the tokenizer instead"
            )
        return transformers[0]

    def _pad(self, tokens: TextFieldTensors, length: int) -> TextFieldTensors:
        """Pad a text field to `length`, as an HF tokenizer with `padding="max_length"` would."""
        padded: Dict[str, Dict[str, torch.Tensor]] = {}
        for indexer, tensors in tokens.items():
            padded[indexer] = {}
            for key, tensor in tensors.items():
                extra = length - tensor.size(1)
                if extra < 0:
                    raise ConfigurationError(
                        f"attention_pull (exact mode): a batch holds {tensor.size(1)} wordpieces, "
                        f"more than `max_length` = {length}; set the tokenizer's `max_length` to "
                        f"the term's `max_length`, or use mode 'masked'"
                    )
                value = self._pad_token_id if key == "token_ids" else 0
                padded[indexer][key] = torch.nn.functional.pad(tensor, (0, extra), value=value)
        return padded

    def _classify(self, sequence_output: torch.Tensor, mask: torch.BoolTensor) -> torch.Tensor:
        if self._sequence_dropout is not None:
            sequence_output = self._sequence_dropout(sequence_output)
        pooled = self._seq2vec_encoder(sequence_output, mask=mask)
        if self._dropout is not None:
            pooled = self._dropout(pooled)
        if self._feedforward is not None:
            pooled = self._feedforward(pooled)
        return self._classification_layer(pooled)

    def _run_stream(self, tokens: TextFieldTensors, request: StreamRequest) -> StreamOutput:
        if request.pad_to_length is not None:
            tokens = self._pad(tokens, request.pad_to_length)
        mask = util.get_text_field_mask(tokens)
        with capture_activations(self._transformer, request, self._all_layer_attentions) as captured:
            sequence_output = self._text_field_embedder(tokens)
        return StreamOutput(
            logits=self._classify(sequence_output, mask),
            embeddings=captured.embeddings,
            mask=mask,
            attention=captured.attention,
        )

    def _run_pair(
        self, tokens: TextFieldTensors, perturbed_tokens: TextFieldTensors, request: StreamRequest
    ) -> Tuple[StreamOutput, StreamOutput]:
        """
        Both streams through one encoder call: concatenated along the batch at one common padded
        length (`max_length` in exact mode, the longer stream's length otherwise). In exact mode,
        with `trim_after_pulled_layer`, the layers after Attention-Pull's run on the batch's real
        length (`trim_after_layer`). Values equal two separate calls in eval mode; in training,
        dropout draws one independent mask per example and position as two calls would, from one
        draw of the generator instead of two.
        """
        width = max(util.get_token_ids_from_text_field_tensors(t).size(1) for t in (tokens, perturbed_tokens))
        length = request.pad_to_length or width
        padded = [self._pad(tokens, length), self._pad(perturbed_tokens, length)]
        both = {indexer: {key: torch.cat([padded[0][indexer][key], padded[1][indexer][key]])
                          for key in padded[0][indexer]} for indexer in padded[0]}
        mask = util.get_text_field_mask(both)
        real = int(mask.sum(dim=1).max())
        trim = (self._trim_after_pulled_layer and request.pad_to_length is not None
                and request.attention_layer is not None and real < length)
        with capture_activations(self._transformer, request, self._all_layer_attentions) as captured, \
                (trim_after_layer(self._transformer, request.attention_layer, real) if trim else nullcontext()):
            sequence_output = self._text_field_embedder(both)
        logits = self._classify(sequence_output, mask[:, : sequence_output.size(1)])
        size = util.get_token_ids_from_text_field_tensors(tokens).size(0)

        def half(tensor: Optional[torch.Tensor], index: int) -> Optional[torch.Tensor]:
            return None if tensor is None else tensor[:size] if index == 0 else tensor[size:]

        return tuple(  # type: ignore[return-value]
            StreamOutput(logits=half(logits, i), embeddings=half(captured.embeddings, i),
                         mask=half(mask, i), attention=half(captured.attention, i))
            for i in (0, 1)
        )

    def forward(  # type: ignore
        self,
        tokens: TextFieldTensors,
        perturbed_tokens: Optional[TextFieldTensors] = None,
        label: Optional[torch.IntTensor] = None,
        metadata: Optional[List[Dict[str, Any]]] = None,
    ) -> Dict[str, torch.Tensor]:
        """
        # Parameters

        tokens : `TextFieldTensors`
            The original input `x` (the only stream used at inference).
        perturbed_tokens : `TextFieldTensors`, optional
            The perturbed copy `x~` (training pairs only).
        label : `torch.IntTensor`, optional
            `(batch,)` gold label ids.
        metadata : `List[Dict[str, Any]]`, optional
            Per-instance metadata (language, example id, texts), passed through.
        """
        if self.training and label is not None and perturbed_tokens is None and len(self._loss_terms) > 0:
            raise ConfigurationError(
                f"eapr_classifier: `loss_terms` {[t.name for t in self._loss_terms]} are configured but the "
                "training instances carry no perturbed copy (`perturbed_tokens`): the method would be "
                "off. Give the training reader a `perturber` and `num_perturbations` >= 1 (the pair "
                "methods of training_configs/ do), or drop the terms for plain fine-tuning"
            )
        if self.training and label is not None and perturbed_tokens is None and self._perturbed_ce_weight != 1.0:
            raise ConfigurationError(
                f"eapr_classifier: `perturbed_ce_weight` is {self._perturbed_ce_weight} but the training "
                "instances carry no perturbed copy (`perturbed_tokens`), so it would weigh nothing. "
                "Give the training reader a `perturber`, or leave EAPR_PERTURBED_CE_WEIGHT unset"
            )
        pair_terms = perturbed_tokens is not None and label is not None and len(self._loss_terms) > 0
        request = self._request if pair_terms else StreamRequest()
        perturbed: Optional[StreamOutput] = None
        original: Optional[StreamOutput] = None
        if perturbed_tokens is not None and len(self._loss_terms) > 0:
            original, perturbed = self._run_pair(tokens, perturbed_tokens, request)
        elif perturbed_tokens is not None:  # RS-DA: the perturbed stream alone
            perturbed = self._run_stream(perturbed_tokens, request)
        else:  # plain fine-tuning, evaluation, prediction
            original = self._run_stream(tokens, request)
        shown = original if original is not None else perturbed
        output: Dict[str, Any] = {
            "logits": shown.logits,
            "probs": torch.nn.functional.softmax(shown.logits, dim=-1),
        }
        if metadata is not None:
            output["metadata"] = metadata
        if perturbed_tokens is not None:
            self._perturbed_share(self._copies_changed(tokens, perturbed_tokens))
        if label is None:
            if not self.training:
                self._unlabelled += shown.logits.size(0)
            return output

        label = label.long().view(-1)
        task_stream = perturbed if perturbed is not None else original
        loss = torch.nn.functional.cross_entropy(task_stream.logits, label)
        if perturbed is not None:
            output["task_loss"] = loss
            values = {"task_loss": loss}
            loss = self._perturbed_ce_weight * loss
            if pair_terms:
                for term in self._loss_terms:
                    values[f"{term.name}_loss"] = term.from_streams(original, perturbed, label)
                if self._frozen_patterns and self.training and self._batches_seen == 0 and torch.is_grad_enabled():
                    self._check_terms_train(values)  # structural: the first training batch decides
                if self._balance and self.training and not self._balance_frozen():
                    self._measure_for_balance(values)
                for index, term in enumerate(self._loss_terms):
                    loss = loss + self._weight(index, term) * values[f"{term.name}_loss"]
                if self._ramp_up and self.training:
                    self._ramp_seen += 1
            self._check_finite(values, loss)
            output.update(values)
            for key, value in values.items():
                self._term_averages[key](value.detach().item())
        output["loss"] = loss
        self._accuracy(shown.logits, label)
        if metadata is not None:
            self._language_accuracy(shown.logits.detach(), label, [m.get("language") for m in metadata])
        if self.training:
            self._batches_seen += 1
        return output

    def _balance_frozen(self) -> bool:
        return bool(self._balance_seen >= self._balance_batches)

    def _trains(self, term: PairLoss) -> bool:
        """A term trains when its weight is > 0 or balancing will set it (balanced shares are > 0)."""
        return term.weight > 0 or term.name in self._balance

    def _check_terms_train(self, values: Dict[str, torch.Tensor]) -> None:
        """A weighted term whose value reaches no trainable parameter (`freeze` keeps everything it
        depends on fixed, e.g. Embedding-Push with the embedding layer frozen) would be off: an error."""
        for term in self._loss_terms:
            value = values[f"{term.name}_loss"]
            if not value.requires_grad and self._trains(term):
                raise ConfigurationError(
                    f"eapr_classifier: the loss term {term.name!r} (weight {term.weight}) reaches no trainable "
                    f"parameter: `freeze` {self._frozen_patterns} keeps every parameter it depends on fixed, so "
                    "the term would be off; freeze less or drop the term (EAPR_FREEZE)"
                )

    def _weight(self, index: int, term: PairLoss) -> float:
        """The weight applied to a term now: configured or balanced, times its ramp-up factor."""
        weight = term.weight
        if term.name in self._balance and self._balance_frozen():
            weight = float(self._balanced_weights[index])
        if term.name in self._ramp_up:
            progress = min(1.0, int(self._ramp_seen) / self._ramp_up[term.name])
            weight *= math.exp(-5.0 * (1.0 - progress) ** 2)
        return weight

    def _measure_for_balance(self, values: Dict[str, torch.Tensor]) -> None:
        """Add this batch's encoder gradient norms (task CE, then each term) to the balance sums;
        after `balance_batches` batches, freeze the weights."""
        parameters = [p for p in self._transformer.parameters() if p.requires_grad]
        keys = ["task_loss"] + [f"{term.name}_loss" for term in self._loss_terms]
        for position, key in enumerate(keys):
            if position > 0 and self._loss_terms[position - 1].name not in self._balance:
                continue
            grads = torch.autograd.grad(values[key], parameters, retain_graph=True, allow_unused=True)
            norm = torch.sqrt(sum((g.double() ** 2).sum() for g in grads if g is not None))
            self._balance_sums[position] += norm.detach()
        self._balance_seen += 1
        if not self._balance_frozen():
            return
        sums = self._balance_sums.clone()
        if util.is_distributed():
            torch.distributed.all_reduce(sums)
        for index, term in enumerate(self._loss_terms):
            if term.name in self._balance:
                share = self._balance[term.name]
                self._balanced_weights[index] = share * sums[0] / sums[index + 1].clamp(min=1e-12)
                logger.info("balanced weight of %s: %.6g (its encoder gradient norm = %s × the task CE's, "
                            "mean of %d batches; configured weight %s no longer used)", term.name,
                            float(self._balanced_weights[index]), share, self._balance_batches, term.weight)

    @staticmethod
    def _copies_changed(tokens: TextFieldTensors, perturbed_tokens: TextFieldTensors) -> float:
        """Share of the batch's pairs whose perturbed copy has other token ids than its original."""
        original = util.get_token_ids_from_text_field_tensors(tokens).masked_fill(
            ~util.get_text_field_mask(tokens), -1)
        perturbed = util.get_token_ids_from_text_field_tensors(perturbed_tokens).masked_fill(
            ~util.get_text_field_mask(perturbed_tokens), -1)
        length = max(original.size(1), perturbed.size(1))
        original = torch.nn.functional.pad(original, (0, length - original.size(1)), value=-1)
        perturbed = torch.nn.functional.pad(perturbed, (0, length - perturbed.size(1)), value=-1)
        return (original != perturbed).any(dim=1).float().mean().item()

    def _check_finite(self, values: Dict[str, torch.Tensor], total: torch.Tensor) -> None:
        """Stop on a NaN/Inf term (named, with the batch) or on a total that overflowed."""
        weights = {f"{term.name}_loss": self._weight(i, term) for i, term in enumerate(self._loss_terms)}
        weights["task_loss"] = self._perturbed_ce_weight
        for key, value in values.items():
            if not torch.isfinite(value).all():
                hint = (
                    "the unbounded Embedding-Push term diverged: lower its weight (alpha) or set "
                    "`max_distance` on the embedding_push term"
                    if key == "embedding_push_loss"
                    else "lower the learning rate, check the inputs of this batch, or disable AMP"
                )
                raise FloatingPointError(
                    f"EAPR loss term '{key}' is {value.item()} at training batch "
                    f"{self._batches_seen} (counted in this process): {hint}"
                )
        if not torch.isfinite(total).all():
            parts = ", ".join(
                f"{key} {value.item():.4g} × weight {weights.get(key, 1.0):.4g}" for key, value in values.items()
            )
            raise FloatingPointError(
                f"EAPR total loss is {total.item()} at training batch {self._batches_seen} although "
                f"every term is finite ({parts}): a weight is too large; lower it"
            )

    def make_output_human_readable(
        self, output_dict: Dict[str, torch.Tensor]
    ) -> Dict[str, torch.Tensor]:
        predictions = output_dict["probs"].argmax(dim=-1).tolist()
        output_dict["label"] = [
            self.vocab.get_token_from_index(index, namespace=self._label_namespace)
            for index in predictions
        ]
        return output_dict

    def get_metrics(self, reset: bool = False) -> Dict[str, float]:
        if self._unlabelled:
            count, self._unlabelled = self._unlabelled, 0
            raise ConfigurationError(
                f"eapr_classifier: {count} evaluated instance(s) carry no gold label, so there is no "
                "accuracy to compute (the XTREME test files have no label column). Score labelled "
                "data, or label these rows with `allennlp predict ARCHIVE FILE`"
            )
        metrics = {"accuracy": self._accuracy.get_metric(reset)}
        metrics.update(self._language_accuracy.get_metric(reset))
        for key, average in self._term_averages.items():
            # Only terms computed since the last reset (plain data has no pairs). Every distributed
            # worker reads the same kind of data, so all of them report the same keys (each
            # get_metric is an all-reduce).
            if average._count > 0:
                metrics[key] = float(average.get_metric(reset))
        for index, term in enumerate(self._loss_terms):
            if term.name in self._ramp_up or (term.name in self._balance and self._balance_frozen()):
                metrics[f"weight_{term.name}"] = self._weight(index, term)
        if self._perturbed_share._count > 0:
            # share of training pairs whose perturbed copy differs from its original (per epoch)
            metrics["perturbed_changed"] = float(self._perturbed_share.get_metric(reset))
        return metrics
