#!/usr/bin/env python3
"""Export a Hugging Face reranker checkpoint to the engine's ONNX contract (docs/models.md).

    python scripts/export-onnx.py BAAI/bge-reranker-v2-m3 out/bge-reranker-v2-m3 --family encoder --optimize
    python scripts/export-onnx.py BAAI/bge-reranker-v2-gemma out/bge-reranker-v2-gemma --family llm --fp16
    python scripts/export-onnx.py BAAI/bge-reranker-v2-minicpm-layerwise out/minicpm --family layerwise --layers 8,16,24,28,32,40
    python scripts/export-onnx.py BAAI/bge-reranker-v2.5-gemma2-lightweight out/lw --family lightweight \
        --layers 25,28 --compress-ratios 1,2,4,8 --compress-layers 8
    .venv-modern/bin/python scripts/export-onnx.py Alibaba-NLP/gte-reranker-modernbert-base out/gte-modernbert --family encoder
    .venv-modern/bin/python scripts/export-onnx.py Qwen/Qwen3-Reranker-0.6B out/qwen3-reranker-0.6b --family qwen3

Needs: torch, transformers, onnx, onnxruntime (for --quantize and --optimize), and FlagEmbedding for
the layer-wise and light-weight families (its bundled model classes, as the reference loads them):
`npm run setup:python` installs the pinned set into .venv. ModernBERT (transformers >= 4.48) and
Qwen3 (>= 4.51) need .venv-modern (`scripts/setup-python.sh --modern`, transformers 4.51.3). CI runs
it for every family on local random-weight checkpoints and compares with the references
(test/reference, docs/models.md).

What each family's graph computes (fidelity per pair: positions are explicit, pooling is at the
last real token, so padding side and batch composition do not change a pair's score):
  encoder      logits [B, 1]          = the classification logit
  llm          scores [B]             = logit of the yes token at each row's last real token
  layerwise    scores [B, K]          = the layer-k score head, pooled the same way
  lightweight  scores [B, K]          as layerwise, with query_lengths / prompt_lengths inputs and
                                        the compression settings fixed at export (one graph per ratio)
  qwen3        scores [B]             = l_yes - l_no at each row's last real token (Qwen3-Reranker:
                                        its score exp(l_yes) / (exp(l_yes) + exp(l_no)) is the sigmoid);
               logits [B, 1]          for a sequence-classification conversion (its one logit is l_yes - l_no)

Every exported graph is run once more on a batch of another size and length than the export's
sample and compared with the PyTorch model: a graph whose shapes were frozen from the sample input
(a Reshape to the sample's length, say) is refused here instead of failing at serving time.
"""
import argparse
import inspect
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


class YesNoScores(torch.nn.Module):
    """qwen3: l_yes - l_no at the last real token. The LM head is applied to that one hidden state only
    (a [B, T, V] logits tensor of a 151k vocabulary at 8,192 tokens would not fit in memory)."""

    def __init__(self, model, yes_id, no_id):
        super().__init__()
        self.model, self.yes_id, self.no_id = model, yes_id, no_id

    def forward(self, input_ids, attention_mask, position_ids):
        hidden = self.model.model(input_ids=input_ids, attention_mask=attention_mask, position_ids=position_ids).last_hidden_state
        logits = self.model.lm_head(pool_last(hidden, attention_mask).unsqueeze(1)).squeeze(1)
        return logits[:, self.yes_id] - logits[:, self.no_id]


class ClassifierAtLast(torch.nn.Module):
    """qwen3, a sequence-classification conversion: its score head at the last real token (found from
    the attention mask, so any padding side and a pad token inside a text do not matter)."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, input_ids, attention_mask, position_ids):
        hidden = self.model.model(input_ids=input_ids, attention_mask=attention_mask, position_ids=position_ids).last_hidden_state
        return self.model.score(pool_last(hidden, attention_mask))


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


SAMPLE = [("what is a reranker", "a model that scores query passage pairs")]
# The check's batch: another size, other lengths (padded), none equal to the sample's.
CHECK = [("a much longer question about what rerankers do with the passages they read", "they score each pair"),
         ("why", "because the retriever returns many candidates and only some of them answer the question at all"),
         ("pandas", "bears")]


def batch_inputs(tokenizer, family, device, pairs, graph_inputs):
    """Model inputs for `pairs` as the engine feeds them: right-padded for encoders and the light-weight
    family, left-padded with position ids counting real tokens otherwise."""
    rows = [tokenizer(q, p)["input_ids"] for q, p in pairs]
    width = max(len(r) for r in rows)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    left = family in ("llm", "layerwise", "qwen3")
    ids = torch.full((len(rows), width), pad, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    positions = torch.zeros((len(rows), width), dtype=torch.long)
    for i, r in enumerate(rows):
        at = slice(width - len(r), width) if left else slice(0, len(r))
        ids[i, at] = torch.tensor(r)
        mask[i, at] = 1
        positions[i, at] = torch.arange(len(r))
    inputs = {"input_ids": ids, "attention_mask": mask}
    if "token_type_ids" in graph_inputs:
        types = torch.zeros_like(ids)
        for i, (q, p) in enumerate(pairs):
            t = tokenizer(q, p).get("token_type_ids") or [0] * len(rows[i])
            types[i, slice(width - len(t), width) if left else slice(0, len(t))] = torch.tensor(t)
        inputs["token_type_ids"] = types
    if "position_ids" in graph_inputs:
        inputs["position_ids"] = positions
    if family == "lightweight":
        inputs["query_lengths"] = torch.full((len(rows),), 4)
        inputs["prompt_lengths"] = torch.full((len(rows),), 4)
    return {k: v.to(device) for k, v in inputs.items()}


def input_names(module, tokenizer, family):
    """The graph's id inputs: position ids for the decoders; token types for encoders whose model and
    tokenizer both have them (BERT; not XLM-RoBERTa or ModernBERT)."""
    if family != "encoder":
        return ["input_ids", "attention_mask", "position_ids"]
    names = ["input_ids", "attention_mask"]
    if "token_type_ids" in inspect.signature(module.forward).parameters and "token_type_ids" in tokenizer(*SAMPLE[0]):
        names.append("token_type_ids")
    return names


def sample_inputs(module, tokenizer, family, device):
    return batch_inputs(tokenizer, family, device, SAMPLE, input_names(module, tokenizer, family))


def check_graph(path, module, tokenizer, family):
    """Runs the exported graph on CHECK (3 rows of other lengths than the sample) against PyTorch;
    refuses the export when it fails or differs: its shapes were frozen from the sample input."""
    import numpy as np
    import onnxruntime as ort
    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]
    inputs = batch_inputs(tokenizer, family, "cpu", CHECK, names)
    shape = tuple(inputs["input_ids"].shape)
    sample = tuple(sample_inputs(module, tokenizer, family, "cpu")["input_ids"].shape)
    try:
        got = session.run(None, {n: inputs[n].numpy() for n in names})[0]
    except Exception as e:  # onnxruntime raises its own Fail / RuntimeException types
        raise SystemExit(f"export-onnx: {path} fails on a batch of {shape[0]} x {shape[1]} tokens (the export's sample was "
                         f"{sample[0]} x {sample[1]}): its shapes were frozen from the sample input, so it would fail at "
                         f"serving time. Use a transformers version whose modeling code traces with dynamic shapes "
                         f"(python/requirements-modern.txt), or export with torch's dynamo exporter.\n  onnxruntime: {e}")
    with torch.no_grad():
        out = module(**{n: inputs[n] for n in names})
    want = (out.logits if hasattr(out, "logits") else out).float().numpy()
    worst = float(np.abs(got.reshape(want.shape) - want).max()) if got.size == want.size else float("inf")
    if not worst <= 1e-3 * max(1.0, float(np.abs(want).max())):
        raise SystemExit(f"export-onnx: {path} gives other scores than the PyTorch model on a batch of {shape[0]} x {shape[1]} "
                         f"tokens (worst difference {worst}; the export's sample was {sample[0]} x {sample[1]}): a shape or "
                         f"value was frozen from the sample input. Refusing the export.")
    print(f"export-onnx: {os.path.basename(path)} checked on a {shape[0]} x {shape[1]} batch (worst difference {worst:.1e})")


def export(module, inputs, output_name, path):
    """A TorchScript export with dynamic batch and sequence axes."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    axes = {name: (DYN if t.dim() == 2 else {0: "batch"}) for name, t in inputs.items()}
    axes[output_name] = {0: "batch"}
    torch.onnx.export(module, tuple(inputs.values()), path, input_names=list(inputs), output_names=[output_name],
                      dynamic_axes=axes, opset_version=OPSET, do_constant_folding=True)


def checkpoint_config(checkpoint):
    """config.json as a dict (read as a file where it is one: FlagEmbedding's bundled model types are not
    registered with AutoConfig)."""
    path = os.path.join(checkpoint, "config.json")
    if os.path.exists(path):
        with open(path) as f:
            return json.load(f)
    from transformers import AutoConfig
    return AutoConfig.from_pretrained(checkpoint, trust_remote_code=True).to_dict()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("checkpoint")
    ap.add_argument("out")
    ap.add_argument("--family", required=True, choices=["encoder", "llm", "layerwise", "lightweight", "qwen3"])
    ap.add_argument("--layers", help="layer-wise / light-weight: layers whose scores the graph returns, e.g. 8,16,24")
    ap.add_argument("--default-cutoff-layers")
    ap.add_argument("--compress-ratios", default="1", help="light-weight: one graph per ratio, e.g. 1,2,4,8")
    ap.add_argument("--compress-layers", default="8")
    ap.add_argument("--fp16", action="store_true", help="also write model_fp16.onnx (exported on a CUDA device)")
    ap.add_argument("--quantize", action="store_true", help="also write model_quantized.onnx (dynamic int8)")
    ap.add_argument("--truncation", choices=["only_second", "longest_first"],
                    help="encoder: how the engine cuts a pair to max_length: only_second (FlagEmbedding's rule; the default) "
                         "or longest_first (sentence-transformers' CrossEncoder; the default for ModernBERT)")
    ap.add_argument("--max-length", type=int,
                    help="the model's default max_length in reranker.json (default: the tokenizer's model_max_length "
                         "within the positions for longest_first, 8192 for qwen3, else none: the engine's 512)")
    ap.add_argument("--optimize", action="store_true",
                    help="encoder: fuse attention, skip-layernorm and bias-gelu with onnxruntime's transformer optimizer "
                         "(same scores, faster on CPU and GPU)")
    args = ap.parse_args()

    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    config = checkpoint_config(args.checkpoint)
    model_type = config.get("model_type", "")
    if args.optimize and args.family == "encoder" and model_type not in ("bert", "xlm-roberta", "roberta"):
        ap.error(f"--optimize fuses BERT-style blocks; a {model_type} model has none (export it without --optimize)")
    # ModernBERT compiles parts of itself with torch.compile unless told not to: nothing to trace through.
    load_kwargs = {"reference_compile": False} if model_type == "modernbert" else {}
    tokenizer = AutoTokenizer.from_pretrained(args.checkpoint, trust_remote_code=True)
    tokenizer.save_pretrained(args.out)  # tokenizer.json, tokenizer_config.json, special_tokens_map.json
    layers = [int(x) for x in args.layers.split(",")] if args.layers else None
    if args.family == "qwen3":
        # As Qwen3-Reranker's published code: the vocabulary entries "yes" and "no".
        answer_ids = [tokenizer.convert_tokens_to_ids(t) for t in ("yes", "no")]
        if tokenizer.unk_token_id is not None and tokenizer.unk_token_id in answer_ids or None in answer_ids:
            ap.error('qwen3: the tokenizer has no "yes" or no "no" token')
    compress_layers = [int(x) for x in args.compress_layers.split(",")]
    reranker = {"family": args.family}

    def build(dtype, device, ratio=1):
        if args.family == "encoder":
            model = AutoModelForSequenceClassification.from_pretrained(args.checkpoint, torch_dtype=dtype, **load_kwargs)
            return model.to(device).eval(), "logits"
        if args.family == "qwen3":
            if any(a.endswith("ForSequenceClassification") for a in (config.get("architectures") or [])):
                model = AutoModelForSequenceClassification.from_pretrained(args.checkpoint, torch_dtype=dtype)
                return ClassifierAtLast(model.to(device).eval()), "logits"
            model = load_causal_lm(args.family, args.checkpoint, dtype).to(device).eval()
            return YesNoScores(model, *answer_ids), "scores"
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
        path = os.path.join(args.out, name)
        with torch.no_grad():
            export(module, sample_inputs(module, tokenizer, args.family, "cpu"), output, path)
        check_graph(path, module, tokenizer, args.family)
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
        module, _ = build(torch.float32, "cpu")
        check_graph(path, module, tokenizer, args.family)
    if args.fp16:
        module, output = build(torch.float16, "cuda", ratios[0])
        with torch.no_grad():
            export(module, sample_inputs(module, tokenizer, args.family, "cuda"), output, os.path.join(args.out, "onnx/model_fp16.onnx"))
    if layers:
        reranker["layers"] = layers
        reranker["default_cutoff_layers"] = ([int(x) for x in args.default_cutoff_layers.split(",")]
                                             if args.default_cutoff_layers else [layers[-1]])
    if args.family == "lightweight":
        reranker.update({"compress_ratio": ratios[0], "compress_layers": compress_layers, "variants": variants})
    if args.family == "qwen3":
        reranker.update({"yes_token": "yes", "no_token": "no"})
    truncation = args.truncation or ("longest_first" if model_type == "modernbert" else None)
    if truncation and args.family != "encoder":
        ap.error("--truncation is for the encoder family")
    if truncation:
        reranker["truncation"] = truncation
    max_length = args.max_length
    if max_length is None and args.family == "qwen3":
        max_length = 8192
    if max_length is None and truncation == "longest_first":
        # CrossEncoder reads to the tokenizer's model_max_length (ModernBERT: 8,192), within the positions.
        limits = [n for n in (tokenizer.model_max_length, config.get("max_position_embeddings"))
                  if isinstance(n, int) and n < 10 ** 6]
        max_length = min(limits) if limits else None
    if max_length is not None:
        reranker["max_length"] = max_length
    with open(os.path.join(args.out, "reranker.json"), "w") as f:
        json.dump(reranker, f, indent=2)
    config_file = os.path.join(args.checkpoint, "config.json")
    if os.path.exists(config_file):
        shutil.copy(config_file, os.path.join(args.out, "config.json"))
    else:
        from transformers import AutoConfig
        AutoConfig.from_pretrained(args.checkpoint, trust_remote_code=True).save_pretrained(args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
