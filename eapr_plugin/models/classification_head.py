"""
The classification head of `EaprClassifier`, one implementation chosen by encoder type.
"""
import copy
from typing import Optional

import torch
from allennlp.common.checks import ConfigurationError
from transformers.models.roberta.modeling_roberta import RobertaClassificationHead

from eapr_plugin.losses.embedding_push import masked_mean

#: HF `config.model_type` -> head kind used when the config does not name one.
HEAD_BY_MODEL_TYPE = {
    "bert": "bert_pooler",
    "roberta": "roberta",
    "xlm-roberta": "roberta",
    "xlm-roberta-xl": "roberta",
    "camembert": "roberta",
}
HEAD_KINDS = ("bert_pooler", "roberta", "mean_pool")


class ClassificationHead(torch.nn.Module):
    """
    The heads of the authors' release, shared by both streams:

    - `"bert_pooler"` (BERT-type encoders, e.g. mBERT): the encoder's own pooler (tanh dense on
      `[CLS]`) → dropout → linear, as `BertForSequenceClassification`.
    - `"roberta"` (RoBERTa-type encoders, e.g. XLM-R): dropout on the sequence output, then HF's
      `RobertaClassificationHead` (first token → dropout → dense → tanh → dropout → linear). The
      release applies dropout twice to the first token (once on the sequence output, once in the
      head); `sequence_dropout=False` drops the first one. The encoder's unused pooler is removed.

    Dropout probability is `config.classifier_dropout`, or `hidden_dropout_prob` when unset, and
    new linear layers are initialised like HF's (normal, std `initializer_range`; zero bias).

    # Parameters

    transformer : `torch.nn.Module`
        The HF encoder (its config and, for `"bert_pooler"`, its pooler are used).
    num_labels : `int`
    kind : `str`, optional
        `"bert_pooler"`, `"roberta"` or `"mean_pool"`; chosen from `config.model_type` when None.
    sequence_dropout : `bool`, optional (default = `True`)
        Only for `"roberta"`: the release's extra dropout on the sequence output.
    """

    def __init__(
        self,
        transformer: torch.nn.Module,
        num_labels: int,
        kind: Optional[str] = None,
        sequence_dropout: bool = True,
    ) -> None:
        super().__init__()
        config = transformer.config
        if kind is None:
            kind = HEAD_BY_MODEL_TYPE.get(config.model_type)
            if kind is None:
                raise ConfigurationError(
                    f"eapr_classifier: no default head for encoder type {config.model_type!r}; "
                    f"set `head` to one of {HEAD_KINDS}"
                )
        if kind not in HEAD_KINDS:
            raise ConfigurationError(
                f"eapr_classifier: unknown `head` {kind!r}; choose one of {HEAD_KINDS}"
            )
        self.kind = kind
        probability = getattr(config, "classifier_dropout", None)
        if probability is None:
            probability = config.hidden_dropout_prob
        if kind == "bert_pooler":
            if getattr(transformer, "pooler", None) is None:
                raise ConfigurationError(
                    f"eapr_classifier: head 'bert_pooler' needs an encoder with a pooler, and "
                    f"{type(transformer).__name__} has none; use head 'roberta'"
                )
            # Kept outside the module tree: the pooler's weights belong to the encoder.
            self.__dict__["_pooler"] = transformer.pooler
            self.dropout = torch.nn.Dropout(probability)
            self.classifier = torch.nn.Linear(config.hidden_size, num_labels)
        elif kind == "mean_pool":
            if getattr(transformer, "pooler", None) is not None:
                transformer.pooler = None
            self.dropout = torch.nn.Dropout(probability)
            self.classifier = torch.nn.Linear(config.hidden_size, num_labels)
        else:
            if getattr(transformer, "pooler", None) is not None:
                transformer.pooler = None
            head_config = copy.deepcopy(config)
            head_config.num_labels = num_labels
            head_config.classifier_dropout = probability
            self.sequence_dropout = torch.nn.Dropout(probability if sequence_dropout else 0.0)
            self.roberta_head = RobertaClassificationHead(head_config)
        for module in self.modules():
            if isinstance(module, torch.nn.Linear):
                module.weight.data.normal_(mean=0.0, std=config.initializer_range)
                module.bias.data.zero_()

    def forward(self, sequence_output: torch.Tensor, mask: torch.BoolTensor) -> torch.Tensor:
        if self.kind == "bert_pooler":
            return self.classifier(self.dropout(self._pooler(sequence_output)))
        if self.kind == "mean_pool":
            return self.classifier(self.dropout(masked_mean(sequence_output, mask)))
        return self.roberta_head(self.sequence_dropout(sequence_output))
