#!/usr/bin/env python3
"""The Python peers of `npm run bench -- --sections peers` (bench/src/sections/peers.ts).

    peers.py make-encoder --out DIR --texts texts.json [--seed 1]
        A MiniLM-size BertForSequenceClassification (hidden 384, 6 layers, 12 heads, vocab 30522,
        random weights) with a WordPiece tokenizer trained here on the benchmark's own texts (no hub),
        saved with save_pretrained: the checkpoint the torch peers load and scripts/export-onnx.py
        exports for the engine.

    peers.py serve
        JSON lines on stdin, one answer line each on stdout, so the benchmark times the peers from
        its own process in the same alternation as the engine (only the `run` command is timed):
          {"op": "load", "peer": "flagembedding" | "cross-encoder", "checkpoint": DIR, "threads": N, "max_length": L}
          {"op": "pairs", "pairs": [[q, p], ...]}
          {"op": "run"}            -> {"ok": true, "n": count, "scores": [...] (the first 64, raw logits)}
"""
import argparse
import json
import os
import sys


def make_encoder(out, texts_file, seed):
    import torch
    from tokenizers import BertWordPieceTokenizer
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast

    with open(texts_file, encoding="utf-8") as f:
        texts = json.load(f)
    os.makedirs(out, exist_ok=True)
    wp = BertWordPieceTokenizer(lowercase=True)
    wp.train_from_iterator(texts, vocab_size=30522, min_frequency=1)
    wp.save_model(out)
    tok = BertTokenizerFast(vocab_file=os.path.join(out, "vocab.txt"), do_lower_case=True, model_max_length=512)
    torch.manual_seed(seed)
    # MiniLM-L6-H384's shape (cross-encoder/ms-marco-MiniLM-L-6-v2); the vocabulary rows past the
    # trained tokenizer's are never looked up but keep the parameter count and memory of the real model.
    cfg = BertConfig(vocab_size=30522, hidden_size=384, num_hidden_layers=6, num_attention_heads=12,
                     intermediate_size=1536, max_position_embeddings=512, num_labels=1)
    model = BertForSequenceClassification(cfg).eval()
    model.save_pretrained(out)
    tok.save_pretrained(out)
    print(json.dumps({"ok": True, "dir": out, "parameters": sum(p.numel() for p in model.parameters()), "vocab": len(tok)}))


class Peer:
    def __init__(self, peer, checkpoint, threads, max_length):
        import torch
        torch.set_num_threads(threads)
        self.peer = peer
        if peer == "flagembedding":
            from FlagEmbedding import FlagReranker
            # Its own batching: length-sorted batches of batch_size (default 128) pairs.
            self.model = FlagReranker(checkpoint, use_fp16=False, devices=["cpu"], max_length=max_length)
            self.score = lambda pairs: self.model.compute_score(pairs, max_length=max_length)
        elif peer == "cross-encoder":
            from sentence_transformers import CrossEncoder
            # Its own batching: batches of 32 pairs in input order (predict's default).
            self.model = CrossEncoder(checkpoint, num_labels=1, max_length=max_length, device="cpu")
            self.score = lambda pairs: self.model.predict(pairs, activation_fct=torch.nn.Identity(), show_progress_bar=False, convert_to_numpy=True).tolist()
        else:
            raise ValueError(f"unknown peer {peer!r}; use flagembedding or cross-encoder")


def serve():
    peer = None
    pairs = []
    for line in sys.stdin:
        if not line.strip():
            continue
        msg = json.loads(line)
        try:
            op = msg["op"]
            if op == "load":
                peer = Peer(msg["peer"], msg["checkpoint"], int(msg["threads"]), int(msg["max_length"]))
                answer = {"ok": True}
            elif op == "pairs":
                pairs = [tuple(p) for p in msg["pairs"]]
                answer = {"ok": True, "n": len(pairs)}
            elif op == "run":
                scores = peer.score(pairs)
                scores = scores if isinstance(scores, list) else [scores]
                answer = {"ok": True, "n": len(scores), "scores": [float(s) for s in scores[:64]]}
            else:
                answer = {"ok": False, "error": f"unknown op {op!r}"}
        except Exception as e:  # reported to the benchmark, which names the peer
            answer = {"ok": False, "error": f"{type(e).__name__}: {e}"}
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    mk = sub.add_parser("make-encoder")
    mk.add_argument("--out", required=True)
    mk.add_argument("--texts", required=True)
    mk.add_argument("--seed", type=int, default=1)
    sub.add_parser("serve")
    args = ap.parse_args()
    if args.cmd == "make-encoder":
        make_encoder(args.out, args.texts, args.seed)
    else:
        serve()


if __name__ == "__main__":
    main()
