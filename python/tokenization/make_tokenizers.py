#!/usr/bin/env python3
"""Tokenizers built the way real ones are, for the differential test of the engine's tokenizer
(test/tokenization/differential.spec.ts) against the Rust `tokenizers` (the Python package), and for
the reference fixtures (python/reference/make_reference.py).

    .venv/bin/python python/tokenization/make_tokenizers.py --out .cache/tokenizers

SentencePiece models are trained with `sentencepiece` under their standard normalization rules
(nmt_nfkc, nmt_nfkc_cf; identity with byte fallback for Llama and Gemma) and converted by
`transformers`' own converters through the slow tokenizer classes (XLM-R, DeBERTa-v2, Llama legacy
and not, BPE and Unigram, Gemma); byte-level BPE vocabularies go through the GPT-2 and Qwen2
converters; BERT WordPiece vocabularies through BertConverter (cased, and uncased with accent
stripping; both split Chinese characters). Two shapes no converter of transformers 4.44 writes are
assembled with the `tokenizers` API as their authors did: Llama-3's byte-level BPE (`ignore_merges`,
its split) and a BPE over the remaining normalizers and pre-tokenizers; the XLM-R file is in the
shape of the hub's (an older converter). Each directory holds what `save_pretrained` writes
(tokenizer.json, tokenizer_config.json, ...); <out>/index.json lists them (see TOKENIZERS).

Cached: when <out>/stamp holds the hash of these scripts and the requirements, nothing is redone.
"""
import argparse
import hashlib
import json
import os
import shutil
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
INPUTS = [os.path.abspath(__file__), os.path.join(HERE, "corpus.py"), os.path.join(ROOT, "python", "requirements.txt")]

import corpus  # noqa: E402


def digest(paths=INPUTS):
    """The cache stamp: a hash of the files whose change must rebuild the outputs."""
    h = hashlib.sha256()
    for path in paths:
        with open(path, "rb") as f:
            h.update(f.read())
    return h.hexdigest()


# ---------------------------------------------------------------- training

def corpus_file(work):
    path = os.path.join(work, "corpus.txt")
    if not os.path.exists(path):
        with open(path, "w", encoding="utf-8") as f:
            f.write("\n".join(corpus.lines()) + "\n")
    return path


def train_spm(work, name, model_type, rule, vocab_size, pieces, byte_fallback=False, identity_like_llama=False):
    """SentencePiece with a standard normalization rule. `pieces` is the id layout of the control
    pieces: {"unk": (id, piece), "bos": ..., "eos": ..., "pad": ...} (id -1: absent). Trained once per name."""
    import sentencepiece as spm
    prefix = os.path.join(work, name)
    if os.path.exists(prefix + ".model"):
        return prefix + ".model"
    kw = dict(input=corpus_file(work), model_prefix=prefix, model_type=model_type, vocab_size=vocab_size,
              normalization_rule_name=rule, character_coverage=0.9995, byte_fallback=byte_fallback,
              num_threads=1, minloglevel=2, input_sentence_size=0, shuffle_input_sentence=False)
    for key in ("unk", "bos", "eos", "pad"):
        ident, piece = pieces[key]
        kw[f"{key}_id"] = ident
        if ident >= 0:
            kw[f"{key}_piece"] = piece
    if identity_like_llama:
        # Llama's and Gemma's models: no rewriting, whitespace kept, digits split one by one.
        kw.update(remove_extra_whitespaces=False, split_digits=True, allow_whitespace_only_pieces=True)
    spm.SentencePieceTrainer.train(**kw)
    return prefix + ".model"


def train_byte_level_bpe(work, vocab_size):
    from tokenizers import ByteLevelBPETokenizer
    out = os.path.join(work, "byte-level-bpe")
    if os.path.exists(out):
        return os.path.join(out, "vocab.json"), os.path.join(out, "merges.txt")
    bpe = ByteLevelBPETokenizer()
    bpe.train([corpus_file(work)], vocab_size=vocab_size, min_frequency=2, show_progress=False)
    os.makedirs(out, exist_ok=True)
    bpe.save_model(out)
    return os.path.join(out, "vocab.json"), os.path.join(out, "merges.txt")


def train_wordpiece(work, lowercase):
    from tokenizers import BertWordPieceTokenizer
    wp = BertWordPieceTokenizer(lowercase=lowercase, strip_accents=None, handle_chinese_chars=True)
    wp.train([corpus_file(work)], vocab_size=6000, min_frequency=2, show_progress=False)
    out = os.path.join(work, "wordpiece-" + ("uncased" if lowercase else "cased"))
    os.makedirs(out, exist_ok=True)
    wp.save_model(out)
    return os.path.join(out, "vocab.txt")


# ---------------------------------------------------------------- tokenizers

def added(content, **kw):
    from tokenizers import AddedToken
    return AddedToken(content, **kw)


def bert(work, lowercase):
    from transformers import BertTokenizerFast
    tok = BertTokenizerFast(vocab_file=train_wordpiece(work, lowercase), do_lower_case=lowercase,
                            tokenize_chinese_chars=True, model_max_length=512)
    # Added tokens of every kind, as fine-tuned checkpoints carry them.
    tok.add_tokens([added("[ENT]", single_word=True, normalized=False), added("Grüße", normalized=True),
                    added("<lstrip>", lstrip=True, normalized=False), added("<rstrip>", rstrip=True, normalized=False)])
    return tok


XLMR_PIECES = {"unk": (0, "<unk>"), "bos": (1, "<s>"), "eos": (2, "</s>"), "pad": (-1, "<pad>")}  # fairseq's layout


def xlmr(work):
    """XLM-R as bge-reranker-v2-m3 and bge-reranker-base / -large carry it: converted by
    XLMRobertaConverter from a SentencePiece Unigram (nmt_nfkc), in the hub files' shape (an older
    converter wrote Precompiled alone and WhitespaceSplit + Metaspace(add_prefix_space)), which
    transformers 4.44 loads as it is."""
    from tokenizers import normalizers, pre_tokenizers
    from transformers import XLMRobertaTokenizerFast
    tok = XLMRobertaTokenizerFast(vocab_file=train_spm(work, "xlmr", "unigram", "nmt_nfkc", 8000, XLMR_PIECES),
                                  model_max_length=512)
    backend = tok.backend_tokenizer
    charsmap = json.loads(backend.to_str())["normalizer"]["normalizers"][0]["precompiled_charsmap"]
    import base64
    backend.normalizer = normalizers.Precompiled(base64.b64decode(charsmap))
    backend.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.WhitespaceSplit(),
                                                     pre_tokenizers.Metaspace(prepend_scheme="always")])
    return tok


def deberta_v2(work, lower_punct=False):
    """DeBERTa-v2/v3 (mxbai-rerank v1's tokenizer); the lower-case, split-by-punctuation variant is
    trained with the case-folding rule nmt_nfkc_cf (another precompiled_charsmap)."""
    from transformers import DebertaV2TokenizerFast
    pieces = {"pad": (0, "[PAD]"), "bos": (1, "[CLS]"), "eos": (2, "[SEP]"), "unk": (3, "[UNK]")}
    rule = "nmt_nfkc_cf" if lower_punct else "nmt_nfkc"
    model = train_spm(work, f"deberta-v2-{rule}", "unigram", rule, 8000, pieces)
    return DebertaV2TokenizerFast(vocab_file=model, do_lower_case=lower_punct, split_by_punct=lower_punct,
                                  model_max_length=512)


LLAMA_PIECES = {"unk": (0, "<unk>"), "bos": (1, "<s>"), "eos": (2, "</s>"), "pad": (-1, "<pad>")}


def llama(work, legacy=True, model_type="bpe"):
    from transformers import LlamaTokenizerFast
    model = train_spm(work, f"llama-{model_type}", model_type, "identity", 4000, LLAMA_PIECES, byte_fallback=True,
                      identity_like_llama=True)
    # add_prefix_space as Llama-2's files have it: legacy Prepend("▁") + Replace, or Metaspace "first".
    tok = LlamaTokenizerFast(vocab_file=model, legacy=legacy, add_prefix_space=True, from_slow=True,
                             add_bos_token=True, add_eos_token=False)
    tok.add_tokens([added("normed", normalized=True), added("<tool>", normalized=False, special=True)])
    return tok


def gemma(work):
    from transformers import GemmaTokenizerFast
    pieces = {"pad": (0, "<pad>"), "eos": (1, "<eos>"), "bos": (2, "<bos>"), "unk": (3, "<unk>")}
    model = train_spm(work, "gemma", "bpe", "identity", 4000, pieces, byte_fallback=True, identity_like_llama=True)
    return GemmaTokenizerFast(vocab_file=model, from_slow=True)


def qwen2(work):
    from transformers import Qwen2Tokenizer, Qwen2TokenizerFast
    vocab, merges = train_byte_level_bpe(work, 4000)
    slow = Qwen2Tokenizer(vocab, merges)
    tok = Qwen2TokenizerFast(vocab_file=vocab, merges_file=merges, from_slow=True)
    assert tok.backend_tokenizer.normalizer is not None and slow is not None
    tok.add_special_tokens({"additional_special_tokens": ["<|im_start|>", "<|im_end|>"]})
    return tok


def gpt2(work):
    from transformers import GPT2TokenizerFast
    vocab, merges = train_byte_level_bpe(work, 4000)
    tok = GPT2TokenizerFast(vocab_file=vocab, merges_file=merges, from_slow=True)
    tok.pad_token = tok.eos_token  # as fine-tunes set it: FlagEmbedding pads every batch
    tok.add_tokens([added(" spaced", normalized=False), added("<lr>", lstrip=True, rstrip=True, normalized=False)])
    return tok


LLAMA3_SPLIT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
                r"|\s*[\r\n]+|\s+(?!\S)|\s+")


def llama3_style(work):
    """Llama-3's tokenizer.json shape (converted from tiktoken): byte-level BPE with ignore_merges."""
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast
    vocab_file, merges_file = train_byte_level_bpe(work, 4000)
    vocab, merges = models.BPE.read_file(vocab_file, merges_file)
    tk = Tokenizer(models.BPE(vocab, merges, ignore_merges=True, fuse_unk=False, byte_fallback=False))
    tk.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(LLAMA3_SPLIT), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=False)])
    tk.decoder = decoders.ByteLevel()
    tk.add_special_tokens(["<|begin_of_text|>", "<|end_of_text|>"])
    bos = tk.token_to_id("<|begin_of_text|>")
    tk.post_processor = processors.Sequence([
        processors.ByteLevel(trim_offsets=False),
        processors.TemplateProcessing(single="<|begin_of_text|> $A", pair="<|begin_of_text|> $A <|begin_of_text|>:1 $B:1",
                                      special_tokens=[("<|begin_of_text|>", bos)])])
    return PreTrainedTokenizerFast(tokenizer_object=tk, bos_token="<|begin_of_text|>", eos_token="<|end_of_text|>")


def bpe_pieces(work):
    """The normalizers and pre-tokenizers no converter above writes (NFKD + StripAccents + Lowercase,
    Strip, Prepend, NFC; WhitespaceSplit, Punctuation, Digits, Split with every behavior) over a BPE
    with an unknown token and a continuing-subword prefix."""
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast
    tk = Tokenizer(models.BPE(unk_token="[UNK]", continuing_subword_prefix="##", end_of_word_suffix="</w>", fuse_unk=True))
    tk.normalizer = normalizers.Sequence([normalizers.NFKD(), normalizers.StripAccents(), normalizers.Lowercase(),
                                          normalizers.Strip(left=True, right=False), normalizers.NFC(),
                                          normalizers.Replace(Regex(r"\d{4,}"), "#"), normalizers.Prepend("^")])
    tk.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.WhitespaceSplit(), pre_tokenizers.Punctuation(behavior="contiguous"),
        pre_tokenizers.Digits(individual_digits=True), pre_tokenizers.Split("-", behavior="merged_with_next"),
        pre_tokenizers.Split(Regex(r"[\p{Lu}]"), behavior="merged_with_previous"),
        pre_tokenizers.Split(Regex(r"\p{M}+"), behavior="removed")])
    tk.decoder = decoders.BPEDecoder()
    trainer = trainers.BpeTrainer(vocab_size=3000, min_frequency=2, special_tokens=["[UNK]", "[SEP]", "[PAD]"],
                                  continuing_subword_prefix="##", end_of_word_suffix="</w>", show_progress=False)
    tk.train([corpus_file(work)], trainer)
    return PreTrainedTokenizerFast(tokenizer_object=tk, unk_token="[UNK]", sep_token="[SEP]", pad_token="[PAD]")


# name → (kind, separator, sweep, builder). kind: how a pair is laid out (encoder: the tokenizer's
# template; llm: the decoder layout). separator: a special token the reference matches in the raw text,
# which the test puts between independent inputs packed into one string. sweep: the contexts in which
# the test tries every code point: "full" (alone, and in a word and between words) for one tokenizer of
# each pipeline the supported models carry, "alone" for the others (Gemma's pieces are Llama's less
# Prepend) and the ones that add pieces; all of them see the corpus in every context.
TOKENIZERS = {
    "bert-uncased": ("encoder", "[SEP]", "full", lambda w: bert(w, True)),
    "bert-cased": ("encoder", "[SEP]", "full", lambda w: bert(w, False)),
    "xlmr": ("encoder", "</s>", "full", xlmr),
    "deberta-v2": ("encoder", "[SEP]", "full", deberta_v2),
    "llama": ("llm", "</s>", "full", llama),
    "qwen2": ("llm", "<|endoftext|>", "full", qwen2),
    "gpt2": ("llm", "<|endoftext|>", "full", gpt2),
    "gemma": ("llm", "<eos>", "alone", gemma),
    "deberta-v2-lower-punct": ("encoder", "[SEP]", "alone", lambda w: deberta_v2(w, True)),
    "llama-nonlegacy": ("llm", "</s>", "alone", lambda w: llama(w, legacy=False)),
    "llama-unigram-byte-fallback": ("llm", "</s>", "alone", lambda w: llama(w, model_type="unigram")),
    "llama3-style": ("llm", "<|end_of_text|>", "alone", llama3_style),
    "bpe-pieces": ("encoder", "[SEP]", "alone", bpe_pieces),
}

# The older serialization of Metaspace (tokenizers < 0.15), as the hub's XLM-R files carry it.
OLD_METASPACE = {"type": "Metaspace", "replacement": "▁", "add_prefix_space": True}


def save(tok, name, out):
    d = os.path.join(out, name)
    shutil.rmtree(d, ignore_errors=True)
    tok.save_pretrained(d)
    if name == "xlmr":
        path = os.path.join(d, "tokenizer.json")
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
        data["pre_tokenizer"]["pretokenizers"][1] = OLD_METASPACE
        with open(path, "w", encoding="utf-8") as f:
            json.dump(data, f, ensure_ascii=False, indent=2)
    return d


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=os.path.join(ROOT, ".cache", "tokenizers"))
    args = ap.parse_args()
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    out = os.path.abspath(args.out)
    stamp = os.path.join(out, "stamp")
    want = digest()
    if os.path.exists(stamp) and open(stamp).read().strip() == want:
        print(f"make_tokenizers: {out} is up to date")
        return
    os.makedirs(out, exist_ok=True)
    index = []
    with tempfile.TemporaryDirectory() as work:
        for name, (kind, separator, sweep, build) in TOKENIZERS.items():
            d = save(build(work), name, out)
            index.append({"name": name, "kind": kind, "separator": separator, "sweep": sweep, "dir": d})
            print(f"make_tokenizers: {name}", flush=True)
    with open(os.path.join(out, "index.json"), "w") as f:
        json.dump(index, f, indent=1)
    with open(stamp, "w") as f:
        f.write(want)


if __name__ == "__main__":
    main()
