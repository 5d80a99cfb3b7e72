#!/usr/bin/env python3
"""Reference fixtures for the models beyond FlagEmbedding's four families, in .venv-modern
(transformers 4.51, python/requirements-modern.txt): a ModernBERT cross-encoder scored by
sentence-transformers' CrossEncoder, and Qwen3-Reranker scored by a Python implementation of its
published usage, with its sequence-classification conversion.

    .venv-modern/bin/python python/reference/make_reference_modern.py --out .cache/reference-modern

Same layout and fixture.json as make_reference.py (whose corpus it reuses), each fixture naming its
`kind`. Random-weight checkpoints made here (save_pretrained, nothing from a hub), with tokenizers
built the way the real ones are:
- ModernBERT (gte-reranker-modernbert-base shape): global and local (sliding-window) attention
  layers, rotary positions, no token types; a byte-level BPE with NFC and its [CLS] A [SEP] B [SEP]
  template, model_input_names without token types, model_max_length 8,192.
- Qwen3 (Qwen3-Reranker shape): a causal LM with a Qwen2-style byte-level BPE (NFC, the Qwen2
  split regex), the chat tokens <|endoftext|> (pad), <|im_start|>, <|im_end|>, <think>, </think>,
  and "yes" / "no" tokens. The conversion is Qwen3ForSequenceClassification with one score row
  lm_head["yes"] - lm_head["no"], as servers that load it that way make it.

Expected scores are computed one pair per call (no padding). Cached: when <out>/stamp holds the
hash of this script, make_reference.py (the corpus), the export recipe and the requirements,
nothing is redone.
"""
import argparse
import os
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from make_reference import CORPUS, EXPORT, PAIRS, QUERIES, ROOT, corpus_iter, real_tokenizers, write_fixture, write_index  # noqa: E402

INPUTS = [os.path.abspath(__file__), os.path.join(HERE, "make_reference.py"), EXPORT,
          os.path.join(ROOT, "python", "requirements.txt"), os.path.join(ROOT, "python", "requirements-modern.txt")]

# Beyond 8,192 tokens in both tokenizers (digits are a token each), under the API's 20,000 characters.
# One such pair (a long query too, so longest_first cuts both): at that length the exported graphs
# take 15 to 30 s per pair on a CPU core pair (attention is quadratic), and every path scores it.
LONG_8K = " ".join(f"{i:05d} harbor" for i in range(1500))
LONG_PAIRS = [[QUERIES[3], LONG_8K]]

QWEN3_INSTRUCTION = "Given a web search query, retrieve relevant passages that answer the query"
QWEN3_TEMPLATE = {
    "prefix": "<|im_start|>system\nJudge whether the Document meets the requirements based on the Query and the Instruct "
              "provided. Note that the answer can only be \"yes\" or \"no\".<|im_end|>\n<|im_start|>user\n",
    "format": "<Instruct>: {instruction}\n<Query>: {query}\n<Document>: {document}",
    "suffix": "<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n",
}
QWEN2_SPLIT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|"
               r"\s+(?!\S)|\s+")


# ---------------------------------------------------------------- tokenizers (trained here, no hub)

def modernbert_tokenizer():
    from tokenizers import AddedToken, ByteLevelBPETokenizer, normalizers, processors
    from transformers import PreTrainedTokenizerFast
    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(corpus_iter(), vocab_size=600, min_frequency=1,
                            special_tokens=["|||IP_ADDRESS|||", "<|padding|>", "<|endoftext|>"])
    tok = bpe._tokenizer
    tok.normalizer = normalizers.NFC()
    tok.add_special_tokens(["[UNK]", "[CLS]", "[SEP]", "[PAD]", AddedToken("[MASK]", lstrip=True, special=True)])
    cls, sep = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS]:0 $A:0 [SEP]:0", pair="[CLS]:0 $A:0 [SEP]:0 $B:1 [SEP]:1",
        special_tokens=[("[CLS]", cls), ("[SEP]", sep)])
    return PreTrainedTokenizerFast(tokenizer_object=tok, cls_token="[CLS]", sep_token="[SEP]", pad_token="[PAD]",
                                   unk_token="[UNK]", mask_token="[MASK]", model_max_length=8192,
                                   model_input_names=["input_ids", "attention_mask"])


def qwen2_tokenizer():
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast
    tok = Tokenizer(models.BPE())
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(QWEN2_SPLIT), behavior="isolated"),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    corpus = list(CORPUS) + [QWEN3_TEMPLATE["prefix"], QWEN3_TEMPLATE["format"], QWEN3_INSTRUCTION, "yes no"]
    trainer = trainers.BpeTrainer(vocab_size=700, min_frequency=1, special_tokens=["<|endoftext|>", "<|im_start|>", "<|im_end|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(corpus * 3, trainer)
    # Qwen's <think> tags are added tokens that are not special.
    tok.add_tokens([AddedToken("<think>", normalized=False), AddedToken("</think>", normalized=False)])
    for word in ("yes", "no"):
        if tok.token_to_id(word) is None:
            raise SystemExit(f"make_reference_modern: the trained vocabulary lacks {word!r}")
    return PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|im_end|>", pad_token="<|endoftext|>",
                                   model_max_length=131072, padding_side="left",
                                   additional_special_tokens=["<|im_start|>", "<|im_end|>"])


# ---------------------------------------------------------------- checkpoints

def widen(model, seed):
    """Random init leaves some heads near zero; widen every weight a little so scores differ visibly."""
    import torch
    torch.manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            if p.dim() >= 2:
                p.normal_(0, 0.2)
    return model.eval()


def make_modernbert(ckpt, seed):
    from transformers import ModernBertConfig, ModernBertForSequenceClassification
    tok = modernbert_tokenizer()
    # 4 layers: 0 and 3 global, 1 and 2 local with a 16-token window, so both kinds act at test lengths.
    cfg = ModernBertConfig(vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=4,
                           num_attention_heads=2, max_position_embeddings=8192, global_attn_every_n_layers=3,
                           local_attention=16, classifier_pooling="mean", num_labels=1, reference_compile=False,
                           pad_token_id=tok.pad_token_id, cls_token_id=tok.cls_token_id, sep_token_id=tok.sep_token_id,
                           bos_token_id=tok.cls_token_id, eos_token_id=tok.sep_token_id)
    model = widen(ModernBertForSequenceClassification(cfg), seed)
    model.save_pretrained(ckpt)
    tok.save_pretrained(ckpt)


def make_qwen3(ckpt, seed):
    from transformers import Qwen3Config, Qwen3ForCausalLM
    tok = qwen2_tokenizer()
    cfg = Qwen3Config(vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=2, head_dim=8, max_position_embeddings=40960,
                      rope_theta=1000000.0, tie_word_embeddings=True, sliding_window=None, use_sliding_window=False,
                      pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id, bos_token_id=None)
    model = widen(Qwen3ForCausalLM(cfg), seed)
    model.save_pretrained(ckpt)
    tok.save_pretrained(ckpt)


def make_qwen3_seq_cls(source, ckpt):
    """The sequence-classification conversion of `source`: same backbone, one score row lm_head[yes] - lm_head[no]."""
    import torch
    from transformers import AutoTokenizer, Qwen3ForCausalLM, Qwen3ForSequenceClassification
    tok = AutoTokenizer.from_pretrained(source)
    causal = Qwen3ForCausalLM.from_pretrained(source).eval()
    cfg = causal.config
    cfg.architectures = ["Qwen3ForSequenceClassification"]
    cfg.num_labels = 1
    model = Qwen3ForSequenceClassification(cfg).eval()
    model.model.load_state_dict(causal.model.state_dict())
    yes, no = tok.convert_tokens_to_ids("yes"), tok.convert_tokens_to_ids("no")
    with torch.no_grad():
        w = causal.lm_head.weight
        model.score.weight.copy_((w[yes] - w[no]).unsqueeze(0))
    model.save_pretrained(ckpt)
    tok.save_pretrained(ckpt)


# ---------------------------------------------------------------- the references' scores

def crossencoder_scores(ckpt, options, pairs):
    """sentence-transformers' CrossEncoder (longest_first truncation to max_length; the tokenizer's
    model_max_length when none), or FlagReranker's rule when the case asks for only_second: the query
    cut to query_max_length (3/4 of max_length), then only the passage, in the model's template."""
    import torch
    from sentence_transformers import CrossEncoder
    max_length = options.get("maxLength")
    ce = CrossEncoder(ckpt, device="cpu", max_length=max_length)
    ce.model.eval()
    out = []
    for q, p in pairs:
        if options.get("truncation") == "only_second":
            tok = ce.tokenizer
            q_ids = tok(q, add_special_tokens=False, truncation=True,
                        max_length=options.get("queryMaxLength", max_length * 3 // 4))["input_ids"]
            p_ids = tok(p, add_special_tokens=False)["input_ids"][: max_length - len(q_ids) - 3]
            ids = torch.tensor([[tok.cls_token_id, *q_ids, tok.sep_token_id, *p_ids, tok.sep_token_id]])
            with torch.no_grad():
                logit = ce.model(input_ids=ids, attention_mask=torch.ones_like(ids)).logits[0, 0]
            score = torch.sigmoid(logit) if options.get("normalize") else logit
            out.append(float(score))
        else:
            activation = torch.nn.Sigmoid() if options.get("normalize") else torch.nn.Identity()
            out.append(float(ce.predict([(q, p)], activation_fct=activation, convert_to_numpy=True)[0]))
    return out


def qwen3_scores(ckpt, options, pairs):
    """Qwen3-Reranker's published usage: prefix + format(instruction, query, document) cut at its end to
    max_length - prefix - suffix tokens + suffix; the probability of "yes" from a softmax over the last
    position's "no" and "yes" logits (normalize false: l_yes - l_no, the logit of that probability).
    A sequence-classification checkpoint gives its one logit."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoModelForSequenceClassification, AutoTokenizer
    tok = AutoTokenizer.from_pretrained(ckpt)
    seq_cls = "Qwen3ForSequenceClassification" in (AutoConfig.from_pretrained(ckpt).architectures or [])
    model = (AutoModelForSequenceClassification if seq_cls else AutoModelForCausalLM).from_pretrained(ckpt).eval()
    template = options.get("promptTemplate") or QWEN3_TEMPLATE
    instruction = options.get("instruction") or QWEN3_INSTRUCTION
    max_length = options.get("maxLength", 8192)
    prefix = tok(template["prefix"], add_special_tokens=False)["input_ids"]
    suffix = tok(template["suffix"], add_special_tokens=False)["input_ids"]
    yes, no = tok.convert_tokens_to_ids("yes"), tok.convert_tokens_to_ids("no")
    out = []
    for q, d in pairs:
        text = template["format"].format(instruction=instruction, query=q, document=d)
        middle = tok(text, add_special_tokens=False, truncation=True,
                     max_length=max_length - len(prefix) - len(suffix))["input_ids"]
        ids = torch.tensor([prefix + middle + suffix])
        with torch.no_grad():
            if seq_cls:
                raw = model(input_ids=ids).logits[0, 0]
                prob = torch.sigmoid(raw)
            else:
                last = model(input_ids=ids).logits[0, -1]
                pair = torch.stack([last[no], last[yes]])
                prob = torch.log_softmax(pair, dim=0)[1].exp()
                raw = last[yes] - last[no]
        out.append(float(prob if options.get("normalize") else raw))
    return out


# ---------------------------------------------------------------- what is made

CUSTOM_TEMPLATE = {"prefix": "<|im_start|>system\nAnswer yes or no.<|im_end|>\n<|im_start|>user\n",
                   "format": "Task: {instruction}\nQ: {query}\nD: {document} {{end}}",
                   "suffix": "<|im_end|>\n<|im_start|>assistant\n"}
MODERNBERT_CASES = [
    ("defaults (reranker.json: longest_first, max_length 8192), beyond 8192 tokens", {}, LONG_PAIRS),
    ("max_length 512, long query", {"maxLength": 512}, PAIRS),
    ("max_length 96, normalize", {"maxLength": 96, "normalize": True}, PAIRS),
    ("truncation only_second (FlagReranker's rule) at 96", {"maxLength": 96, "truncation": "only_second"}, PAIRS),
]
QWEN3_CASES = [
    ("max_length 512: the probability of yes", {"maxLength": 512, "normalize": True}, PAIRS),
    ("max_length 512, raw: l_yes - l_no", {"maxLength": 512, "normalize": False}, PAIRS),
    ("max_length 96", {"maxLength": 96, "normalize": True}, PAIRS),
    ("defaults (max_length 8192), beyond 8192 tokens", {"normalize": True}, LONG_PAIRS),
    ("instruction", {"instruction": "Find the passage that names the animal", "maxLength": 200, "normalize": True}, PAIRS),
    ("prompt template", {"promptTemplate": CUSTOM_TEMPLATE, "maxLength": 160, "normalize": False}, PAIRS),
]

SPECS = [
    {"name": "encoder-modernbert", "family": "encoder", "kind": "ModernBERT", "make": "modernbert", "seed": 11,
     "reference": crossencoder_scores, "exports": {"model": ["--quantize"]}, "cases": MODERNBERT_CASES},
    {"name": "qwen3-reranker", "family": "qwen3", "kind": "Qwen3-Reranker", "make": "qwen3", "seed": 12,
     "reference": qwen3_scores, "exports": {"model": ["--quantize"]}, "cases": QWEN3_CASES},
    {"name": "qwen3-reranker-seq-cls", "family": "qwen3", "kind": "Qwen3-Reranker (seq-cls)", "make": "qwen3-seq-cls",
     "from": "qwen3-reranker", "reference": qwen3_scores, "exports": {"model": []}, "cases": QWEN3_CASES[:3]},
]


def build(spec, out):
    d = os.path.join(out, spec["name"])
    ckpt = os.path.join(d, "checkpoint")
    shutil.rmtree(d, ignore_errors=True)
    t = time.time()
    if spec["make"] == "modernbert":
        make_modernbert(ckpt, spec["seed"])
    elif spec["make"] == "qwen3":
        make_qwen3(ckpt, spec["seed"])
    else:
        make_qwen3_seq_cls(os.path.join(out, spec["from"], "checkpoint"), ckpt)
    cases = [{"name": name, "options": options, "pairs": pairs, "expected": spec["reference"](ckpt, options, pairs)}
             for name, options, pairs in spec["cases"]]
    t_ref = time.time() - t
    t = time.time()
    exports = {}
    for dirname, flags in spec["exports"].items():
        model = os.path.join(d, dirname)
        subprocess.run([sys.executable, EXPORT, ckpt, model, "--family", spec["family"], *flags], check=True)
        exports[dirname] = {"dir": os.path.abspath(model), "flags": flags, "quantized": "--quantize" in flags, "fused": False}
    head = {"name": spec["name"], "family": spec["family"], "kind": spec["kind"]}
    write_fixture(d, head, ckpt, exports, cases, t_ref, t, "make_reference_modern")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=os.path.join(ROOT, ".cache", "reference-modern"))
    args = ap.parse_args()
    import torch
    torch.set_num_threads(1)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    out = os.path.abspath(args.out)
    stamp = os.path.join(out, "stamp")
    want = real_tokenizers.digest(INPUTS)
    if os.path.exists(stamp) and open(stamp).read().strip() == want:
        print(f"make_reference_modern: {out} is up to date")
        return
    os.makedirs(out, exist_ok=True)
    for spec in SPECS:
        build(spec, out)
    write_index(out, SPECS, stamp, want)


if __name__ == "__main__":
    main()
