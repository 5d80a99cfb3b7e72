#!/usr/bin/env python3
"""Export a Hugging Face reranker checkpoint to the engine's ONNX contract (docs/models.md).

    python scripts/export-onnx.py BAAI/bge-reranker-v2-m3 out/bge-reranker-v2-m3 --family encoder --optimize
    python scripts/export-onnx.py BAAI/bge-reranker-v2-gemma out/bge-reranker-v2-gemma --family llm --fp16
    python scripts/export-onnx.py BAAI/bge-reranker-v2-minicpm-layerwise out/minicpm --family layerwise --layers 8,16,24,28,32,40
    python scripts/export-onnx.py BAAI/bge-reranker-v2.5-gemma2-lightweight out/lw --family lightweight \
        --layers 25,28 --compress-ratios 1,2,4,8 --compress-layers 8

Needs: torch, transformers, onnx, onnxruntime (for --quantize and --optimize), and FlagEmbedding for
the layer-wise and light-weight families (its bundled model classes, as the reference loads them):
`npm run setup:python` installs the pinned set into .venv. CI runs it for all four families on
local random-weight checkpoints and compares with FlagEmbedding (test/reference, docs/models.md).

What each family's graph computes (fidelity per pair: positions are explicit, pooling is at the
last real token, so padding side and batch composition do not change a pair's score):
  encoder      logits [B, 1]          = the classification logit
  llm          scores [B]             = logit of the yes token at each row's last real token
  layerwise    scores [B, K]          = the layer-k score head, pooled the same way
  lightweight  scores [B, K]          as layerwise, with query_lengths / prompt_lengths inputs and
                                        the compression settings fixed at export (one graph per ratio)
"""
import argparse
import json
import os
import shutil

import torch

OPSET = 17
DYN = {0: "batch", 1: "sequence"}


def last_real_index(attention_mask):
    # Works for left and right padding: the highest position whose mask is 1.
    positions = torch.arange(attention_mask.shape[1], device=attention_mask.device).unsqueeze(0)
    return (attention_mask * positions).max(dim=1).values


def pool_last(values, attention_mask):
    idx = last_real_index(attention_mask)
    return values[torch.arange(values.shape[0], device=values.device), idx]


class LlmScores(torch.nn.Module):
    def __init__(self, model, yes_id):
        super().__init__()
        self.model, self.yes_id = model, yes_id

    def forward(self, input_ids, attention_mask, position_ids):
        logits = self.model(input_ids=input_ids, attention_mask=attention_mask, position_ids=position_ids).logits
        return pool_last(logits[:, :, self.yes_id], attention_mask)


class LayerwiseScores(torch.nn.Module):
    def __init__(self, model, layers):
        super().__init__()
        self.model, self.layers = model, layers

    def forward(self, input_ids, attention_mask, position_ids):
        out = self.model(input_ids=input_ids, attention_mask=attention_mask, position_ids=position_ids,
                         return_dict=True, cutoff_layers=self.layers)
        per_layer = [pool_last(s.squeeze(-1) if s.dim() == 3 else s, attention_mask) for s in out[0]]
        return torch.stack(per_layer, dim=1)


class LightweightScores(torch.nn.Module):
    def __init__(self, model, layers, ratio, compress_layers):
        super().__init__()
        self.model, self.layers, self.ratio, self.compress_layers = model, layers, ratio, compress_layers

    def forward(self, input_ids, attention_mask, position_ids, query_lengths, prompt_lengths):
        out = self.model(input_ids=input_ids, attention_mask=attention_mask, position_ids=position_ids,
                         return_dict=True, cutoff_layers=self.layers, compress_ratio=self.ratio,
                         compress_layer=self.compress_layers, query_lengths=query_lengths,
                         prompt_lengths=prompt_lengths)
        # Right padding, as the reference: each layer's score is read at its last real token, found in
        # that layer's own mask (after compression the rows are shorter than the input).
        per_layer = []
        for s, mask in zip(out.logits, out.attention_masks):
            s = s.squeeze(-1) if s.dim() == 3 else s
            per_layer.append(s[torch.arange(s.shape[0]), mask.sum(dim=1) - 1])
        scores = torch.stack(per_layer, dim=1)
        # Without compression the model never reads the lengths; keep them graph inputs all the same
        # (the contract has them), at no cost to the scores.
        return scores + 0 * (query_lengths + prompt_lengths).unsqueeze(1).to(scores.dtype)


def load_causal_lm(family, checkpoint, dtype):
    """As the reference loads it: the layer-wise and light-weight families first through FlagEmbedding's
    bundled model classes (LayerWiseMiniCPMForCausalLM, CostWiseGemmaForCausalLM), which need no
    remote code; then the checkpoint's own code (trust_remote_code), as the hub repositories ship it."""
    from transformers import AutoModelForCausalLM
    bundled = None
    try:
        if family == "layerwise":
            from FlagEmbedding.inference.reranker.decoder_only.models.modeling_minicpm_reranker import \
                LayerWiseMiniCPMForCausalLM as bundled
        elif family == "lightweight":
            from FlagEmbedding.inference.reranker.decoder_only.models.gemma_model import \
                CostWiseGemmaForCausalLM as bundled
    except ImportError:
        bundled = None
    if bundled is not None:
        try:
            return bundled.from_pretrained(checkpoint, torch_dtype=dtype)
        except Exception as e:  # not that architecture: fall back to the checkpoint's code
            print(f"export-onnx: FlagEmbedding's {bundled.__name__} did not load it ({e}); trying its own code")
    return AutoModelForCausalLM.from_pretrained(checkpoint, torch_dtype=dtype, trust_remote_code=True)


def sample_inputs(tokenizer, family, device):
    ids = tokenizer("what is a reranker", "a model that scores query passage pairs", return_tensors="pt")
    input_ids = ids["input_ids"].to(device)
    mask = torch.ones_like(input_ids)
    inputs = {"input_ids": input_ids, "attention_mask": mask}
    if family == "encoder":
        if "token_type_ids" in ids:
            inputs["token_type_ids"] = ids["token_type_ids"].to(device)
        return inputs
    inputs["position_ids"] = torch.arange(input_ids.shape[1], device=device).unsqueeze(0)
    if family == "lightweight":
        inputs["query_lengths"] = torch.tensor([4], device=device)
        inputs["prompt_lengths"] = torch.tensor([4], device=device)
    return inputs


def export(module, inputs, output_name, path):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    axes = {name: (DYN if t.dim() == 2 else {0: "batch"}) for name, t in inputs.items()}
    axes[output_name] = {0: "batch"}
    torch.onnx.export(module, tuple(inputs.values()), path, input_names=list(inputs), output_names=[output_name],
                      dynamic_axes=axes, opset_version=OPSET, do_constant_folding=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("checkpoint")
    ap.add_argument("out")
    ap.add_argument("--family", required=True, choices=["encoder", "llm", "layerwise", "lightweight"])
    ap.add_argument("--layers", help="layer-wise / light-weight: layers whose scores the graph returns, e.g. 8,16,24")
    ap.add_argument("--default-cutoff-layers")
    ap.add_argument("--compress-ratios", default="1", help="light-weight: one graph per ratio, e.g. 1,2,4,8")
    ap.add_argument("--compress-layers", default="8")
    ap.add_argument("--fp16", action="store_true", help="also write model_fp16.onnx (exported on a CUDA device)")
    ap.add_argument("--quantize", action="store_true", help="also write model_quantized.onnx (dynamic int8)")
    ap.add_argument("--optimize", action="store_true",
                    help="encoder: fuse attention, skip-layernorm and bias-gelu with onnxruntime's transformer optimizer "
                         "(same scores, faster on CPU and GPU)")
    args = ap.parse_args()

    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(args.checkpoint, trust_remote_code=True)
    tokenizer.save_pretrained(args.out)  # tokenizer.json, tokenizer_config.json, special_tokens_map.json
    layers = [int(x) for x in args.layers.split(",")] if args.layers else None
    compress_layers = [int(x) for x in args.compress_layers.split(",")]
    reranker = {"family": args.family}

    def build(dtype, device, ratio=1):
        if args.family == "encoder":
            model = AutoModelForSequenceClassification.from_pretrained(args.checkpoint, torch_dtype=dtype).to(device).eval()
            return model, "logits"
        model = load_causal_lm(args.family, args.checkpoint, dtype).to(device).eval()
        if args.family == "llm":
            yes_id = tokenizer("Yes", add_special_tokens=False)["input_ids"][0]
            return LlmScores(model, yes_id), "scores"
        if not layers:
            ap.error("--layers is required for the layer-wise and light-weight families")
        if args.family == "layerwise":
            return LayerwiseScores(model, layers), "scores"
        return LightweightScores(model, layers, ratio, compress_layers), "scores"

    ratios = [int(r) for r in args.compress_ratios.split(",")] if args.family == "lightweight" else [1]
    variants = []
    for ratio in ratios:
        module, output = build(torch.float32, "cpu", ratio)
        name = "onnx/model.onnx" if ratio == ratios[0] else f"onnx/model_cr{ratio}.onnx"
        with torch.no_grad():
            export(module, sample_inputs(tokenizer, args.family, "cpu"), output, os.path.join(args.out, name))
        if ratio != ratios[0]:
            variants.append({"file": name, "compress_ratio": ratio, "compress_layers": compress_layers})
        del module
    # Quantize the plain graph: the fused one has com.microsoft operators whose outputs the
    # quantizer's shape inference cannot type.
    if args.quantize:
        from onnxruntime.quantization import QuantType, quantize_dynamic
        quantize_dynamic(os.path.join(args.out, "onnx/model.onnx"), os.path.join(args.out, "onnx/model_quantized.onnx"),
                         weight_type=QuantType.QInt8)

    if args.optimize and args.family == "encoder":
        from onnxruntime.transformers import optimizer
        from transformers import AutoConfig
        cfg = AutoConfig.from_pretrained(args.checkpoint)
        path = os.path.join(args.out, "onnx/model.onnx")
        fused = optimizer.optimize_model(path, model_type="bert", num_heads=cfg.num_attention_heads,
                                         hidden_size=cfg.hidden_size, opt_level=1)
        fused.save_model_to_file(path)
    if args.fp16:
        module, output = build(torch.float16, "cuda", ratios[0])
        with torch.no_grad():
            export(module, sample_inputs(tokenizer, args.family, "cuda"), output, os.path.join(args.out, "onnx/model_fp16.onnx"))
    if layers:
        reranker["layers"] = layers
        reranker["default_cutoff_layers"] = ([int(x) for x in args.default_cutoff_layers.split(",")]
                                             if args.default_cutoff_layers else [layers[-1]])
    if args.family == "lightweight":
        reranker.update({"compress_ratio": ratios[0], "compress_layers": compress_layers, "variants": variants})
    with open(os.path.join(args.out, "reranker.json"), "w") as f:
        json.dump(reranker, f, indent=2)
    config = os.path.join(args.checkpoint, "config.json")
    if os.path.exists(config):
        shutil.copy(config, os.path.join(args.out, "config.json"))
    else:
        from transformers import AutoConfig
        AutoConfig.from_pretrained(args.checkpoint, trust_remote_code=True).save_pretrained(args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
