"""The hooks read exactly what HF returns when asked for every layer's outputs."""
import pytest
import torch
from transformers import AutoModel, AutoTokenizer

from eapr_plugin.losses import StreamRequest
from eapr_plugin.modules import capture_activations


@pytest.mark.parametrize("encoder", ["tiny-bert", "tiny-xlmr"])
@pytest.mark.parametrize("all_layers", [False, True])
def test_captured_embeddings_and_attention_equal_hf_outputs(encoder, all_layers, tiny_encoders):
    folder = tiny_encoders[encoder]
    model = AutoModel.from_pretrained(folder).eval()
    batch = AutoTokenizer.from_pretrained(folder)(["Le chat dort .", "Die Kinder spielen im Garten ."],
                                                  padding=True, return_tensors="pt")
    with torch.no_grad():
        reference = model(**batch, output_hidden_states=True, output_attentions=True)
        with capture_activations(model, StreamRequest(embeddings=True, attention_layer=3), all_layers) as captured:
            model(**batch)
    assert torch.allclose(captured.embeddings, reference.hidden_states[0], atol=1e-6)
    assert torch.allclose(captured.attention, reference.attentions[3], atol=1e-6)
    assert model.config.output_attentions is False  # restored after the block


def test_nothing_is_captured_unless_requested(tiny_encoders):
    model = AutoModel.from_pretrained(tiny_encoders["tiny-bert"]).eval()
    batch = AutoTokenizer.from_pretrained(tiny_encoders["tiny-bert"])(["a b"], return_tensors="pt")
    with torch.no_grad(), capture_activations(model, StreamRequest()) as captured:
        model(**batch)
    assert captured.embeddings is None and captured.attention is None
