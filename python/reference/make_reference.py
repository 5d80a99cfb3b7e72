#!/usr/bin/env python3
"""Reference fixtures: tiny random-weight checkpoints in the real architectures, FlagEmbedding's own
scores for them, and their exports through scripts/export-onnx.py.

    .venv/bin/python python/reference/make_reference.py --out .cache/reference

For each model: <out>/<name>/checkpoint (save_pretrained, nothing from a hub), <out>/<name>/model
and <out>/<name>/model* (the exports: fp32 with its int8 graph, the fused graph in model-fused) and <out>/<name>/fixture.json:

    {"name", "family", "model": "<abs dir>", "variants": {...},
     "cases": [{"name", "options": {camelCase engine options}, "pairs": [[q, p], ...],
                "expected": [score per pair] | [[score per pair] per layer]}]}

Expected scores come from FlagEmbedding 1.4's classes, one pair per compute_score call, so padding
and batch composition cannot matter. Cached: when <out>/stamp holds the hash of this script, the
export recipe and the requirements, nothing is redone.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
EXPORT = os.path.join(ROOT, "scripts", "export-onnx.py")
TOKENIZATION = os.path.join(ROOT, "python", "tokenization")
INPUTS = [os.path.abspath(__file__), EXPORT, os.path.join(ROOT, "python", "requirements.txt"),
          os.path.join(TOKENIZATION, "make_tokenizers.py"), os.path.join(TOKENIZATION, "corpus.py")]
sys.path.insert(0, TOKENIZATION)
import make_tokenizers as real_tokenizers  # noqa: E402  (tokenizers built the way real ones are)

LONG = " ".join(f"word{i} river library harbor 河流 {i}" for i in range(400))  # far beyond any max_length
QUERIES = [
    "what is a panda?",
    "Wie heißt die Hauptstadt von Frankreich? Ünïcödé ✓ naïve",
    "熊猫是什么动物？",
    " ".join(["a very long query about the old library near the harbor"] * 60),  # longer than max_length
]
PASSAGES = [
    "The giant panda is a bear species endemic to China.",
    "",
    "Paris est la capitale de la France. 🇫🇷 café, smörgåsbord, Ελληνικά",
    "大熊猫是中国特有的熊科动物，主要栖息在四川。",
    LONG,
    "Yes",
]
PAIRS = [[q, p] for q in QUERIES for p in PASSAGES]
# The input classes of the tokenizer test (test/tokenization): grapheme clusters (emoji with skin tones
# and joiners, flags, keycaps, combining marks, Hangul jamo, Indic conjuncts, variation selectors),
# format and control characters (soft hyphen, byte-order mark, zero-width and bidi marks), every kind
# of space, special-token text written literally, compatibility forms, and a passage around max_length.
UNICODE_QUERIES = [
    "emoji 👩‍💻 👨‍👩‍👧‍👦 👍🏽 🇫🇷🇯🇵 1️⃣ ☺︎ ☺️ what\u200bis\u00adsoft\ufeffbom?",
    "ｆｕｌｌ ｗｉｄｔｈ ﬁnance ™ ① Å e\u0301 क्ष ক্ষ 한\u1100\u1161\u11a8 葛\U000e0100 <s> [SEP] <|endoftext|>",
]
UNICODE_PASSAGES = [
    "Zero\u200bwidth\u200cjoin\u200d, bidi \u202aembed\u202c \u2066iso\u2069, tags \U000e0041, \x00\x07\x1b\x7f\x85 "
    "controls,\tspaces\u00a0\u1680\u2003\u2028\u2029\u202f\u205f\u3000 and   runs   of   spaces.",
    "Combining: a\u0300\u0301\u0302 Z\u0351\u036b\u0343 ✓ naïve; Hangul 각각 \u1100\u1161\u11a8; Indic स्त्री த்தமிழ் ශ්‍රී; "
    "keycaps #️⃣ *️⃣; flags 🏴󠁧󠁢󠁥󠁮󠁧󠁿 🏳️‍🌈; special tokens written out: <s> </s> <pad> <mask> [CLS] [MASK] <eos> <unk>",
    " ".join(f"word{i} река 川 {i}\u00ad😀" for i in range(120)),  # around max_length 512 for most vocabularies
]
UNICODE_PAIRS = [[q, p] for q in UNICODE_QUERIES for p in UNICODE_PASSAGES + PASSAGES[:2]]
CORPUS = QUERIES + PASSAGES + [
    "Given a query A and a passage B, determine whether the passage contains an answer to the query by "
    "providing a prediction of either 'Yes' or 'No'.",
    "Predict whether passage B contains an answer to query A.", "A: B: Yes No yes no\n",
    "Is the passage B relevant to query A? Represent this query for retrieval: passage:",
]


# ---------------------------------------------------------------- tokenizers (trained here, no hub)

def corpus_iter():
    for _ in range(3):
        yield from CORPUS


def bert_tokenizer(dirname):
    from tokenizers import BertWordPieceTokenizer
    from transformers import BertTokenizerFast
    wp = BertWordPieceTokenizer(lowercase=True)
    wp.train_from_iterator(corpus_iter(), vocab_size=400, min_frequency=1)
    os.makedirs(dirname, exist_ok=True)
    wp.save_model(dirname)
    return BertTokenizerFast(vocab_file=os.path.join(dirname, "vocab.txt"), do_lower_case=True, model_max_length=512)


def bpe_tokenizer(bos, pad, eos="<eos>"):
    """A byte-level BPE as decoder rerankers use; `bos` may equal `pad` (then the reference adds no bos)."""
    from tokenizers import ByteLevelBPETokenizer
    from transformers import PreTrainedTokenizerFast
    specials = list(dict.fromkeys([pad, bos, eos, "<unk>"]))
    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(corpus_iter(), vocab_size=600, min_frequency=1, special_tokens=specials)
    return PreTrainedTokenizerFast(tokenizer_object=bpe._tokenizer, bos_token=bos, eos_token=eos, pad_token=pad,
                                   unk_token="<unk>", padding_side="left")


# ---------------------------------------------------------------- checkpoints

def small(**kw):
    base = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64)
    base.update(kw)
    return base


def make_checkpoint(spec, ckpt, work):
    import torch
    torch.manual_seed(spec["seed"])
    kind = spec["kind"]
    if kind == "bert":
        from transformers import BertConfig, BertForSequenceClassification
        tok = bert_tokenizer(ckpt)
        cfg = BertConfig(vocab_size=len(tok), num_labels=1, max_position_embeddings=512, **small())
        model = BertForSequenceClassification(cfg)
    elif kind == "xlmr":
        from transformers import XLMRobertaConfig, XLMRobertaForSequenceClassification
        tok = real_tokenizers.xlmr(work)
        cfg = XLMRobertaConfig(vocab_size=len(tok), num_labels=1, max_position_embeddings=514, type_vocab_size=1,
                               pad_token_id=tok.pad_token_id, bos_token_id=tok.bos_token_id,
                               eos_token_id=tok.eos_token_id, **small())
        model = XLMRobertaForSequenceClassification(cfg)
    elif kind == "deberta-v2":
        # mxbai-rerank v1's shape: relative attention (p2c, c2p, log buckets), no absolute positions,
        # no token types.
        from transformers import DebertaV2Config, DebertaV2ForSequenceClassification
        tok = real_tokenizers.deberta_v2(work)
        cfg = DebertaV2Config(vocab_size=len(tok), num_labels=1, max_position_embeddings=512, relative_attention=True,
                              pos_att_type=["p2c", "c2p"], position_buckets=256, max_relative_positions=-1,
                              norm_rel_ebd="layer_norm", share_att_key=True, type_vocab_size=0,
                              position_biased_input=False, pad_token_id=tok.pad_token_id, **small())
        model = DebertaV2ForSequenceClassification(cfg)
    elif kind == "qwen2":
        # A Qwen2 LLM reranker: byte-level BPE with Qwen2's split and NFC, no bos, pad = eos.
        from transformers import Qwen2Config, Qwen2ForCausalLM
        tok = real_tokenizers.qwen2(work)
        cfg = Qwen2Config(vocab_size=len(tok), num_key_value_heads=1, max_position_embeddings=1024,
                          pad_token_id=tok.pad_token_id, bos_token_id=None, eos_token_id=tok.eos_token_id, **small())
        model = Qwen2ForCausalLM(cfg)
    elif kind == "llama":
        # A Llama LLM reranker: SentencePiece BPE with byte fallback (Llama-2's legacy normalizer), pad = unk.
        from transformers import LlamaConfig, LlamaForCausalLM
        tok = real_tokenizers.llama(work)
        tok.pad_token = tok.unk_token
        cfg = LlamaConfig(vocab_size=len(tok), num_key_value_heads=1, max_position_embeddings=1024,
                          pad_token_id=tok.pad_token_id, bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
                          **small())
        model = LlamaForCausalLM(cfg)
    elif kind == "gemma":
        from transformers import GemmaConfig, GemmaForCausalLM
        tok = bpe_tokenizer(bos=spec["bos"], pad="<pad>")
        cfg = GemmaConfig(vocab_size=len(tok), num_key_value_heads=1, head_dim=16,
                          pad_token_id=tok.pad_token_id, bos_token_id=tok.bos_token_id,
                          eos_token_id=tok.eos_token_id, **small())
        model = GemmaForCausalLM(cfg)
    elif kind == "minicpm":
        from FlagEmbedding.inference.reranker.decoder_only.models.configuration_minicpm_reranker import LayerWiseMiniCPMConfig
        from FlagEmbedding.inference.reranker.decoder_only.models.modeling_minicpm_reranker import LayerWiseMiniCPMForCausalLM
        tok = bpe_tokenizer(bos="<s>", pad="<unk>", eos="</s>")
        cfg = LayerWiseMiniCPMConfig(vocab_size=len(tok), num_key_value_heads=2, start_layer=1, head_multi=True,
                                     head_type="simple", pad_token_id=tok.pad_token_id,
                                     bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
                                     **small(num_hidden_layers=3))
        model = LayerWiseMiniCPMForCausalLM(cfg)
    elif kind == "costwise-gemma2":
        from FlagEmbedding.inference.reranker.decoder_only.models.gemma_config import CostWiseGemmaConfig
        from FlagEmbedding.inference.reranker.decoder_only.models.gemma_model import CostWiseGemmaForCausalLM
        tok = bpe_tokenizer(bos="<bos>", pad="<pad>")
        tok.padding_side = "right"
        cfg = CostWiseGemmaConfig(vocab_size=len(tok), num_key_value_heads=1, head_dim=16, start_layer=1,
                                  layer_sep=1, layer_wise=True,
                                  pad_token_id=tok.pad_token_id, bos_token_id=tok.bos_token_id,
                                  eos_token_id=tok.eos_token_id, **small(num_hidden_layers=3))
        model = CostWiseGemmaForCausalLM(cfg)
    else:
        raise ValueError(kind)
    # Random init leaves some heads near zero; widen every weight a little so scores differ visibly.
    with torch.no_grad():
        for p in model.parameters():
            if p.dim() >= 2:
                p.normal_(0, 0.2)
    model.eval()
    model.save_pretrained(ckpt)
    tok.save_pretrained(ckpt)


# ---------------------------------------------------------------- the reference's scores

PY_NAMES = {
    "maxLength": "max_length", "queryMaxLength": "query_max_length", "normalize": "normalize",
    "queryInstructionForRerank": "query_instruction_for_rerank", "queryInstructionFormat": "query_instruction_format",
    "passageInstructionForRerank": "passage_instruction_for_rerank",
    "passageInstructionFormat": "passage_instruction_format", "prompt": "prompt", "cutoffLayers": "cutoff_layers",
    "compressRatio": "compress_ratio", "compressLayers": "compress_layers",
}
CONSTRUCTOR_ONLY = {"query_instruction_for_rerank", "query_instruction_format", "passage_instruction_for_rerank",
                    "passage_instruction_format"}


def reference_class(family):
    from FlagEmbedding import FlagLLMReranker, FlagReranker, LayerWiseFlagLLMReranker, LightWeightFlagLLMReranker
    return {"encoder": FlagReranker, "llm": FlagLLMReranker, "layerwise": LayerWiseFlagLLMReranker,
            "lightweight": LightWeightFlagLLMReranker}[family]


def expected_scores(family, ckpt, options, pairs):
    py = {PY_NAMES[k]: v for k, v in options.items()}
    ctor = {k: v for k, v in py.items() if k in CONSTRUCTOR_ONLY}
    call = {k: v for k, v in py.items() if k not in CONSTRUCTOR_ONLY}
    reranker = reference_class(family)(ckpt, devices="cpu", batch_size=1, **ctor)
    per_pair = []
    for q, p in pairs:
        s = reranker.compute_score([(q, p)], **call)
        per_pair.append(s)
    # compute_score on one pair gives a flat list [x], or one list per layer [[x], [y]].
    if isinstance(per_pair[0], list) and per_pair[0] and isinstance(per_pair[0][0], list):
        layers = len(per_pair[0])
        return [[float(s[k][0]) for s in per_pair] for k in range(layers)]
    return [float(s[0]) if isinstance(s, list) else float(s) for s in per_pair]


# ---------------------------------------------------------------- what is made

INSTRUCTIONS = {"queryInstructionForRerank": "Represent this query: ", "queryInstructionFormat": "{}{}",
                "passageInstructionForRerank": "passage:", "passageInstructionFormat": "{}\\n{}"}
ENCODER_CASES = [
    ("defaults", {}),
    ("max_length 40", {"maxLength": 40}),
    ("max_length 48, query_max_length 12", {"maxLength": 48, "queryMaxLength": 12}),
    ("instructions and formats", dict(INSTRUCTIONS, maxLength=64)),
    ("normalize", {"normalize": True, "maxLength": 64}),
]
LLM_CASES = [
    ("defaults", {}),
    ("max_length 40", {"maxLength": 40}),
    ("max_length 48, query_max_length 10, normalize", {"maxLength": 48, "queryMaxLength": 10, "normalize": True}),
    ("prompt", {"prompt": "Is passage B relevant to query A?", "maxLength": 64}),
    ("instructions and formats", dict(INSTRUCTIONS, maxLength=64)),
    # None: no instruction at all (the LLM families' default is "A: " / "B: ").
    ("null instructions", {"queryInstructionForRerank": None, "passageInstructionForRerank": None, "maxLength": 64}),
]
# FlagEmbedding's CostWiseGemmaForCausalLM scores the i-th *requested* layer with lm_head[i], so with
# cutoff_layers=[3] alone layer 3 gets the head trained for the first score layer, and a layer's score
# depends on which other layers are asked for. The contract deliberately does not copy that: a graph
# returns layer layers[k] scored by the head the export assigned to it (the reference's head for the
# full `layers` request), and cutoffLayers picks columns. So these cases ask for all of `layers`.
LIGHTWEIGHT_HEADS = "cutoff_layers picks heads by position in the reference; the contract fixes them per layer"

SPECS = [
    {"name": "encoder-bert", "family": "encoder", "kind": "bert", "seed": 1, "exports": {"model": ["--quantize"], "model-fused": ["--optimize"]}, "cases": ENCODER_CASES},
    {"name": "encoder-xlmr", "family": "encoder", "kind": "xlmr", "seed": 2, "exports": {"model": ["--quantize"], "model-fused": ["--optimize"]}, "cases": ENCODER_CASES, "pairs": PAIRS + UNICODE_PAIRS},
    {"name": "encoder-deberta-v2", "family": "encoder", "kind": "deberta-v2", "seed": 7, "exports": {"model": []},
     "cases": ENCODER_CASES, "pairs": PAIRS + UNICODE_PAIRS},
    {"name": "llm-gemma-bos", "family": "llm", "kind": "gemma", "bos": "<bos>", "seed": 3, "exports": {"model": ["--quantize"]},
     "cases": LLM_CASES},
    {"name": "llm-gemma-bos-is-pad", "family": "llm", "kind": "gemma", "bos": "<pad>", "seed": 4, "exports": {"model": []},
     "cases": LLM_CASES[:3]},
    {"name": "llm-qwen2", "family": "llm", "kind": "qwen2", "seed": 8, "exports": {"model": []}, "cases": LLM_CASES,
     "pairs": PAIRS + UNICODE_PAIRS},
    {"name": "llm-llama", "family": "llm", "kind": "llama", "seed": 9, "exports": {"model": []}, "cases": LLM_CASES,
     "pairs": PAIRS + UNICODE_PAIRS},
    {"name": "layerwise-minicpm", "family": "layerwise", "kind": "minicpm", "seed": 5,
     "exports": {"model": ["--layers", "1,2,3", "--default-cutoff-layers", "3", "--quantize"]},
     "cases": [("defaults", {}), ("cutoff_layers [2]", {"cutoffLayers": [2], "maxLength": 40}),
               ("cutoff_layers [1, 3]", {"cutoffLayers": [1, 3], "maxLength": 48, "queryMaxLength": 10}),
               ("prompt, normalize", {"cutoffLayers": [3], "prompt": "Is B relevant to A?", "normalize": True,
                                      "maxLength": 64})]},
    {"name": "lightweight-gemma2", "family": "lightweight", "kind": "costwise-gemma2", "seed": 6,
     "exports": {"model": ["--layers", "2,3", "--default-cutoff-layers", "3", "--compress-ratios", "1,2,4",
                          "--compress-layers", "1", "--quantize"]},
     # Every case asks for all the graph's layers: see LIGHTWEIGHT_HEADS.
     "cases": [("defaults", {"cutoffLayers": [2, 3], "compressLayers": [1]}),
               ("max_length 40", {"cutoffLayers": [2, 3], "compressLayers": [1], "maxLength": 40}),
               ("compress_ratio 2", {"cutoffLayers": [2, 3], "compressLayers": [1], "compressRatio": 2,
                                     "maxLength": 64}),
               ("compress_ratio 4, prompt, normalize", {"cutoffLayers": [2, 3], "compressLayers": [1],
                                                        "compressRatio": 4, "prompt": "Is B relevant to A?",
                                                        "normalize": True, "maxLength": 48, "queryMaxLength": 10})]},
]


def build(spec, out):
    d = os.path.join(out, spec["name"])
    ckpt = os.path.join(d, "checkpoint")
    shutil.rmtree(d, ignore_errors=True)
    t = time.time()
    with tempfile.TemporaryDirectory() as work:
        make_checkpoint(spec, ckpt, work)
    pairs = spec.get("pairs", PAIRS)
    cases = []
    for name, options in spec["cases"]:
        cases.append({"name": name, "options": options, "pairs": pairs,
                      "expected": expected_scores(spec["family"], ckpt, options, pairs)})
    t_ref = time.time() - t
    t = time.time()
    exports = {}
    for dirname, flags in spec["exports"].items():
        model = os.path.join(d, dirname)
        subprocess.run([sys.executable, EXPORT, ckpt, model, "--family", spec["family"], *flags], check=True)
        exports[dirname] = {"dir": os.path.abspath(model), "flags": flags,
                            "quantized": "--quantize" in flags, "fused": "--optimize" in flags}
    write_fixture(d, {"name": spec["name"], "family": spec["family"]}, ckpt, exports, cases, t_ref, t, "make_reference")


def write_index(out, specs, stamp, want):
    """index.json (the fixtures in order), then the stamp that marks them current."""
    with open(os.path.join(out, "index.json"), "w") as f:
        json.dump([s["name"] for s in specs], f)
    with open(stamp, "w") as f:
        f.write(want)


def write_fixture(d, head, ckpt, exports, cases, t_ref, t, script):
    """fixture.json of one checkpoint (what test/reference/fixtures.ts reads), and a line of timings."""
    fixture = {**head, "checkpoint": os.path.abspath(ckpt), "exports": exports, "cases": cases,
               "seconds": {"reference": round(t_ref, 1), "export": round(time.time() - t, 1)}}
    with open(os.path.join(d, "fixture.json"), "w") as f:
        json.dump(fixture, f, ensure_ascii=False, indent=1)
    print(f"{script}: {head['name']}: reference {t_ref:.1f}s, export {time.time() - t:.1f}s", flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=os.path.join(ROOT, ".cache", "reference"))
    ap.add_argument("--only", help="comma-separated names (no stamp written)")
    args = ap.parse_args()
    import torch
    torch.set_num_threads(1)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    out = os.path.abspath(args.out)
    stamp = os.path.join(out, "stamp")
    want = real_tokenizers.digest(INPUTS)
    if not args.only and os.path.exists(stamp) and open(stamp).read().strip() == want:
        print(f"make_reference: {out} is up to date")
        return
    os.makedirs(out, exist_ok=True)
    specs = [s for s in SPECS if not args.only or s["name"] in args.only.split(",")]
    for spec in specs:
        build(spec, out)
    if not args.only:
        write_index(out, SPECS, stamp, want)


if __name__ == "__main__":
    main()
