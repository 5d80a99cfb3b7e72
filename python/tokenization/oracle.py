#!/usr/bin/env python3
"""The reference side of test/tokenization/differential.spec.ts: a process that answers requests
(one JSON line each on stdin) with what the Rust `tokenizers` (through `transformers`' AutoTokenizer,
as FlagEmbedding loads it) and FlagEmbedding's own pair layout make of the texts.

    {"op": "encode", "dir": D, "texts": [...]}
        → ids: the backend's encode_batch of each text, no special tokens
    {"op": "pairs", "dir": D, "kind": "encoder" | "llm", "pairs": [[q, p], ...],
     "max_length": M, "query_max_length": Q, "prompt": P}
        → ids and, where the tokenizer returns them, type_ids: the model input of each pair as
          FlagEmbedding 1.4 builds it (truncation included)

Each answer is a JSON line naming its lists, {"lists": [["ids", count, size], ...]} (or {"error": ...}),
then for each list its `count` lengths and `size` values as little-endian int32: answers run to tens of
megabytes, which JSON would spend seconds writing and reading.
"""
import importlib.util
import json
import os
import sys
from array import array

os.environ.setdefault("TOKENIZERS_PARALLELISM", "true")


def load_compat():
    """FlagEmbedding's tokenizer glue (utils/tokenizer_compat.py), without importing its models."""
    package = importlib.util.find_spec("FlagEmbedding")
    path = os.path.join(os.path.dirname(package.origin), "utils", "tokenizer_compat.py")
    spec = importlib.util.spec_from_file_location("flag_tokenizer_compat", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main():
    from transformers import AutoTokenizer
    compat = load_compat()
    tokenizers = {}

    def tokenizer(d):
        if d not in tokenizers:
            tokenizers[d] = AutoTokenizer.from_pretrained(d)
        return tokenizers[d]

    def send(named):
        """Writes the header line, then each list's lengths and values."""
        header = {"lists": [[name, len(lists), sum(map(len, lists))] for name, lists in named]}
        out = sys.stdout.buffer
        out.write(json.dumps(header).encode() + b"\n")
        for _, lists in named:
            out.write(array("i", map(len, lists)).tobytes())
            values = array("i")
            for x in lists:
                values.extend(x)
            out.write(values.tobytes())
        out.flush()

    def encoder_pairs(tok, pairs, max_length, query_max_length):
        # FlagEmbedding 1.4: https://github.com/FlagOpen/FlagEmbedding/blob/master/FlagEmbedding/inference/reranker/encoder_only/base.py (compute_score_single_gpu)
        q = tok([p[0] for p in pairs], return_tensors=None, add_special_tokens=False, max_length=query_max_length,
                truncation=True)["input_ids"]
        d = tok([p[1] for p in pairs], return_tensors=None, add_special_tokens=False, max_length=max_length,
                truncation=True)["input_ids"]
        items = [compat.prepare_for_model_compat(tok, a, b, truncation="only_second", max_length=max_length, padding=False)
                 for a, b in zip(q, d)]
        types = [it["token_type_ids"] for it in items] if "token_type_ids" in items[0] else None
        return [it["input_ids"] for it in items], types

    def llm_pairs(tok, pairs, max_length, query_max_length, prompt):
        # FlagEmbedding 1.4: https://github.com/FlagOpen/FlagEmbedding/blob/master/FlagEmbedding/inference/reranker/decoder_only/base.py (compute_score_single_gpu)
        q = tok([p[0] for p in pairs], return_tensors=None, add_special_tokens=False, max_length=query_max_length,
                truncation=True)["input_ids"]
        d = tok([p[1] for p in pairs], return_tensors=None, add_special_tokens=False, max_length=max_length,
                truncation=True)["input_ids"]
        prompt_inputs = tok(prompt, return_tensors=None, add_special_tokens=False)["input_ids"]
        sep_inputs = tok("\n", return_tensors=None, add_special_tokens=False)["input_ids"]
        encode_max_length = max_length + len(sep_inputs) + len(prompt_inputs)
        out = []
        for a, b in zip(q, d):
            first = [tok.bos_token_id] + a if tok.bos_token_id is not None and tok.bos_token_id != tok.pad_token_id else a
            item = compat.prepare_for_model_compat(tok, first, sep_inputs + b, truncation="only_second",
                                                   max_length=encode_max_length, padding=False, return_attention_mask=False,
                                                   return_token_type_ids=False, add_special_tokens=False)
            out.append(item["input_ids"] + sep_inputs + prompt_inputs)
        return out, None

    for line in sys.stdin:
        try:
            req = json.loads(line)
            tok = tokenizer(req["dir"])
            if req["op"] == "encode":
                encodings = tok.backend_tokenizer.encode_batch(req["texts"], add_special_tokens=False)
                named = [("ids", [e.ids for e in encodings])]
            elif req["op"] == "pairs":
                pairs = req["pairs"]
                if req["kind"] == "encoder":
                    ids, types = encoder_pairs(tok, pairs, req["max_length"], req["query_max_length"])
                else:
                    ids, types = llm_pairs(tok, pairs, req["max_length"], req["query_max_length"], req["prompt"])
                named = [("ids", ids)] + ([("type_ids", types)] if types is not None else [])
            else:
                raise ValueError(f"unknown op {req['op']}")
        except Exception as e:  # the test shows it
            sys.stdout.buffer.write(json.dumps({"error": f"{type(e).__name__}: {e}"}).encode() + b"\n")
            sys.stdout.buffer.flush()
            continue
        send(named)


if __name__ == "__main__":
    main()
