"""Build a tiny random XCOMET model folder, laid out as unbabel-comet's `load_from_checkpoint` reads one.

Run by the comet environment's python (it needs comet and transformers 4): `python build_tiny_xcomet.py OUT
TEXT_FILE`. OUT receives

- `xlmr/`: a tiny XLM-R encoder (config + a SentencePiece tokenizer trained on TEXT_FILE), what a real
  XCOMET's `pretrained_model` (facebook/xlm-roberta-xxl) is on the Hub;
- `checkpoints/model.ckpt`: a Lightning checkpoint (state_dict, hyper_parameters, version) of an
  `XCOMETMetric` on that encoder at random weights;
- `hparams.yaml`: its hyperparameters, with `class_identifier: xcomet_metric` and `pretrained_model`
  pointing at `xlmr/`.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytorch_lightning
import sentencepiece
import torch
import yaml
from comet.models import XCOMETMetric
from transformers import XLMRobertaConfig, XLMRobertaTokenizerFast


def build(out: Path, text_file: Path) -> Path:
    encoder = out / "xlmr"
    encoder.mkdir(parents=True, exist_ok=True)
    sentencepiece.SentencePieceTrainer.train(input=str(text_file), model_prefix=str(out / "spm"), vocab_size=400,
                                             minloglevel=2)
    tokenizer = XLMRobertaTokenizerFast(vocab_file=str(out / "spm.model"))
    tokenizer.save_pretrained(encoder)
    XLMRobertaConfig(vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                     intermediate_size=64, max_position_embeddings=514, pad_token_id=1, bos_token_id=0,
                     eos_token_id=2).save_pretrained(encoder)

    torch.manual_seed(0)
    model = XCOMETMetric(encoder_model="XLM-RoBERTa", pretrained_model=str(encoder), load_pretrained_weights=False,
                         local_files_only=True, word_layer=2, hidden_sizes=[16], layer_norm=False)
    hparams = dict(model.hparams)
    (out / "checkpoints").mkdir(exist_ok=True)
    torch.save({"state_dict": model.state_dict(), "hyper_parameters": hparams,
                "pytorch-lightning_version": pytorch_lightning.__version__}, out / "checkpoints" / "model.ckpt")
    (out / "hparams.yaml").write_text(yaml.safe_dump(hparams))
    return out


if __name__ == "__main__":
    print(build(Path(sys.argv[1]), Path(sys.argv[2])))
