#!/usr/bin/env python3
"""Writes libs/engine/src/tokenization/unicode/tables.ts: the Unicode data that the Rust `tokenizers`
0.19.1 (the reference's tokenizer, the Python package in .venv) was built with, read from the sources
of the crates it links, so that the engine tokenizes like it whatever Unicode version Node's ICU
follows (Node 20.20 already follows Unicode 17; the crates follow 9.0, 14.0, 15.0 and 15.1).

    python3 scripts/make-unicode-tables.py --sources DIR

DIR holds these files, from the crate versions in tokenizers 0.19.1's Cargo.lock (bindings/python):
  unicode_categories-tables.rs             unicode_categories 0.1.1, src/tables.rs (UCD 9.0): BertNormalizer's
                                           control characters and accents, BertPreTokenizer's and Punctuation's
                                           punctuation
  unicode-normalization-alignments-tables.rs  unicode-normalization-alignments 0.1.12, src/tables.rs (UCD 9.0):
                                           StripAccents' combining marks
  unicode-segmentation-tables.rs           unicode-segmentation 1.11.0, src/tables.rs (UCD 15.1): grapheme
                                           clusters (the Precompiled normalizer)
  regex-syntax/{age,general_category,perl_word,perl_space,property_bool}.rs
                                           regex-syntax 0.8.3, src/unicode_tables (UCD 15.0): what Rust's `char`
                                           and `regex` say (is_whitespace, is_numeric, to_lowercase's domain, \\w,
                                           \\s), and the characters assigned by Unicode 9.0 (the normalization
                                           forms' version)
  oniguruma-unicode_property_data.c        Oniguruma 6.9.8 (onig_sys 69.8.1), src/unicode_property_data.c
                                           (UCD 14.0): the properties of Split and Replace patterns
Only the standard library is needed.
"""
import argparse
import os
import re

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(os.path.dirname(HERE), "libs", "engine", "src", "tokenization", "unicode", "tables.ts")

RUST_CHAR = r"'((?:\\u\{[0-9a-fA-F]+\}|\\.|[^\\']))'"


def rust_char(lit):
    if lit.startswith("\\u{"):
        return int(lit[3:-1], 16)
    if lit.startswith("\\"):
        return {"t": 9, "n": 10, "r": 13, "0": 0, "\\": 92, "'": 39, '"': 34}[lit[1]]
    return ord(lit)


def rust_ranges(text, name):
    """A `pub const NAME: &[(char, char)] = &[...]` table of regex-syntax."""
    m = re.search(r"pub const " + name + r": &'static \[\(char, char\)\] =\s*&\[(.*?)\];", text, re.S)
    if not m:
        raise SystemExit(f"no table {name}")
    return [(rust_char(a), rust_char(b)) for a, b in re.findall(r"\(" + RUST_CHAR + r",\s*" + RUST_CHAR + r"\)", m.group(1))]


def rust_chars(text, name):
    """A `pub static NAME : &[char] = &[...]` table of unicode_categories (single characters)."""
    m = re.search(r"pub static " + name + r" : &'static \[char\] = &\[(.*?)\];", text, re.S)
    if not m:
        raise SystemExit(f"no table {name}")
    return [rust_char(c) for c in re.findall(RUST_CHAR, m.group(1))]


def to_ranges(points):
    out = []
    for p in sorted(set(points)):
        if out and out[-1][1] + 1 == p:
            out[-1][1] = p
        else:
            out.append([p, p])
    return [tuple(r) for r in out]


def union(*lists):
    pts = set()
    for lst in lists:
        for a, b in lst:
            pts.update(range(a, b + 1))
    return to_ranges(pts)


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def unicode_categories(src):
    t = read(os.path.join(src, "unicode_categories-tables.rs"))
    chars = lambda *names: [c for n in names for c in rust_chars(t, n)]  # noqa: E731
    # lib.rs matches these ranges before its table (which only holds their first and last characters).
    private_use = [(0xE000, 0xF8FF), (0xF0000, 0xFFFFD), (0x100000, 0x10FFFD)]
    other = union(to_ranges(chars("OTHER_CONTROL", "OTHER_FORMAT", "OTHER_PRIVATE_USE")), private_use)
    punctuation = to_ranges(chars("PUNCTUATION_CONNECTOR", "PUNCTUATION_DASH", "PUNCTUATION_CLOSE",
                                  "PUNCTUATION_FINAL_QUOTE", "PUNCTUATION_INITIAL_QUOTE", "PUNCTUATION_OTHER",
                                  "PUNCTUATION_OPEN"))
    nonspacing = to_ranges(chars("MARK_NONSPACING"))
    return other, nonspacing, punctuation


def combining_marks(src):
    t = read(os.path.join(src, "unicode-normalization-alignments-tables.rs"))
    m = re.search(r"COMBINING_MARK_KV: &\[u32\] = &\[(.*?)\];", t, re.S)
    return to_ranges(int(x, 16) for x in re.findall(r"0x([0-9a-fA-F]+)", m.group(1)))


GRAPHEME_CATS = ["CR", "LF", "Control", "Extend", "ZWJ", "Regional_Indicator", "Prepend", "SpacingMark", "L", "V",
                 "T", "LV", "LVT", "Extended_Pictographic"]


def graphemes(src):
    t = read(os.path.join(src, "unicode-segmentation-tables.rs"))
    assert "pub const UNICODE_VERSION: (u64, u64, u64) = (15, 1, 0);" in t
    m = re.search(r"const grapheme_cat_table: &'static \[\(char, char, GraphemeCat\)\] = &\[(.*?)\];", t, re.S)
    rows = re.findall(r"\(" + RUST_CHAR + r",\s*" + RUST_CHAR + r",\s*GC_(\w+)\)", m.group(1))
    out = {c: [] for c in GRAPHEME_CATS}
    for a, b, cat in rows:
        out[cat].append((rust_char(a), rust_char(b)))
    return out


def regex_syntax(src):
    d = os.path.join(src, "regex-syntax")
    age, gc = read(os.path.join(d, "age.rs")), read(os.path.join(d, "general_category.rs"))
    assert "Unicode version: 15.0.0." in gc
    versions = ["V1_1", "V2_0", "V2_1", "V3_0", "V3_1", "V3_2", "V4_0", "V4_1", "V5_0", "V5_1", "V5_2", "V6_0", "V6_1",
                "V6_2", "V6_3", "V7_0", "V8_0", "V9_0"]
    assigned9 = union(*[rust_ranges(age, v) for v in versions])
    return {
        "ASSIGNED_9": assigned9,
        "NUMERIC": rust_ranges(gc, "NUMBER"),
        "WHITE_SPACE": rust_ranges(read(os.path.join(d, "perl_space.rs")), "WHITE_SPACE"),
        "PERL_WORD": rust_ranges(read(os.path.join(d, "perl_word.rs")), "PERL_WORD"),
        "CHANGES_WHEN_LOWERCASED": rust_ranges(read(os.path.join(d, "property_bool.rs")), "CHANGES_WHEN_LOWERCASED"),
    }


ONIG_GC = ["Lu", "Ll", "Lt", "Lm", "Lo", "Mn", "Mc", "Me", "Nd", "Nl", "No", "Pc", "Pd", "Ps", "Pe", "Pi", "Pf", "Po",
           "Sm", "Sc", "Sk", "So", "Zs", "Zl", "Zp", "Cc", "Cf", "Cs", "Co"]
# Property name → Oniguruma's table where it names it otherwise (Nd is its Digit, Cc its Cntrl).
ONIG_ALIAS = {"Nd": "Digit", "Cc": "Cntrl", "White_Space": "Space", "Alphabetic": "Alpha"}
ONIG_OTHER = ["White_Space", "Alphabetic", "Word"]


def oniguruma(src):
    t = read(os.path.join(src, "oniguruma-unicode_property_data.c"))
    assert "#define UNICODE_PROPERTY_VERSION  140000" in t

    def cr(name):
        m = re.search(r"\nCR_" + name + r"\[\] = \{ (\d+),\n(.*?)\}; /\* END of CR_" + name + r" \*/", t, re.S)
        if not m:
            raise SystemExit(f"no CR_{name}")
        nums = [int(x, 16) for x in re.findall(r"0x([0-9a-fA-F]+)", m.group(2))]
        assert len(nums) == 2 * int(m.group(1)), name
        return list(zip(nums[0::2], nums[1::2]))

    return {name: cr(ONIG_ALIAS.get(name, name)) for name in ONIG_GC + ONIG_OTHER}


def encode(ranges):
    """Ranges as base-36 numbers: start - previous end, then end - start."""
    out, prev = [], -1
    for a, b in ranges:
        assert a > prev, (a, prev)
        out += [a - prev - 1, b - a]
        prev = b
    return ",".join(_b36(v) for v in out)


def _b36(v):
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    s = ""
    while True:
        v, r = divmod(v, 36)
        s = digits[r] + s
        if v == 0:
            return s


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sources", required=True)
    ap.add_argument("--out", default=OUT)
    args = ap.parse_args()
    other, nonspacing, punctuation = unicode_categories(args.sources)
    rs = regex_syntax(args.sources)
    onig = oniguruma(args.sources)
    lines = [
        "// Generated by scripts/make-unicode-tables.py from the sources of the crates the Rust `tokenizers`",
        "// 0.19.1 links (see that script); do not edit. Each table is a list of code point ranges, written as",
        "// base-36 numbers: the gap after the previous range, then the range's length minus one.",
        "",
        "/** unicode_categories 0.1.1 (Unicode 9.0): Cc, Cf and Co, BertNormalizer's control characters. */",
        f"export const UC9_CONTROL = '{encode(other)}';",
        "/** unicode_categories 0.1.1 (Unicode 9.0): Mn, the accents BertNormalizer strips. */",
        f"export const UC9_NONSPACING_MARK = '{encode(nonspacing)}';",
        "/** unicode_categories 0.1.1 (Unicode 9.0): P*, BertPreTokenizer's and Punctuation's punctuation. */",
        f"export const UC9_PUNCTUATION = '{encode(punctuation)}';",
        "/** unicode-normalization-alignments 0.1.12 (Unicode 9.0): M, the marks StripAccents removes. */",
        f"export const UN9_COMBINING_MARK = '{encode(combining_marks(args.sources))}';",
        "/** regex-syntax 0.8.3 (Unicode 15.0): code points assigned by Unicode 9.0, the normalization forms' version. */",
        f"export const ASSIGNED_9 = '{encode(rs['ASSIGNED_9'])}';",
        "/** regex-syntax 0.8.3 (Unicode 15.0): Nd, Nl and No, Rust's `char::is_numeric` (Digits). */",
        f"export const NUMERIC = '{encode(rs['NUMERIC'])}';",
        "/** regex-syntax 0.8.3: White_Space, Rust's `char::is_whitespace` and `regex`'s \\\\s. */",
        f"export const WHITE_SPACE = '{encode(rs['WHITE_SPACE'])}';",
        "/** regex-syntax 0.8.3 (Unicode 15.0): `regex`'s \\\\w (added tokens' single_word). */",
        f"export const PERL_WORD = '{encode(rs['PERL_WORD'])}';",
        "/** regex-syntax 0.8.3 (Unicode 15.0): Changes_When_Lowercased, where Rust's `char::to_lowercase` maps. */",
        f"export const CHANGES_WHEN_LOWERCASED = '{encode(rs['CHANGES_WHEN_LOWERCASED'])}';",
        "/** unicode-segmentation 1.11.0 (Unicode 15.1): Grapheme_Cluster_Break and Extended_Pictographic. */",
        "export const GRAPHEME: Record<string, string> = {",
        *[f"  {c}: '{encode(r)}'," for c, r in graphemes(args.sources).items()],
        "};",
        "/** Oniguruma 6.9.8 (Unicode 14.0): general categories and the properties Split / Replace patterns use. */",
        "export const ONIG: Record<string, string> = {",
        *[f"  {c}: '{encode(r)}'," for c, r in onig.items()],
        "};",
        "",
    ]
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as f:
        f.write("\n".join(lines))
    print(f"wrote {args.out} ({os.path.getsize(args.out)} bytes)")


if __name__ == "__main__":
    main()
