"""Seeded multilingual training text for the tokenizers of make_tokenizers.py (no download: the
vocabularies only need to cover the scripts, marks, digits, punctuation and compatibility forms that
the differential test throws at them)."""
import random

ENGLISH = (
    "the of and to in is was for on that with as by at from his her this are which be or had not have one "
    "were they all their there been has when who more will would no out so said what up its about into than "
    "them can only other new some time could these two may first then do any like my now over such our man me "
    "even most made after also did many before must through back years where much your way well down should "
    "because each just those people how too little state good very make world still own see men work long get "
    "here between both life being under never day same another know while last might us great old year off "
    "come since against go came right used take three river library harbor panda bear capital reranker query "
    "passage machine learning model score relevant answer document search engine"
).split()
ACCENTED = "café naïve résumé façade smörgåsbord Ünïcödé straße garçon niño œuvre Ærø Øresund crème brûlée déjà vu".split()

# (first, last) code point ranges of letters per script, and marks that attach to them.
SCRIPTS = {
    "greek": ((0x03B1, 0x03C9), (0x0391, 0x03A9)),
    "cyrillic": ((0x0430, 0x044F), (0x0410, 0x042F)),
    "armenian": ((0x0561, 0x0586),),
    "hebrew": ((0x05D0, 0x05EA),),
    "arabic": ((0x0627, 0x064A),),
    "devanagari": ((0x0915, 0x0939),),
    "bengali": ((0x0995, 0x09B9),),
    "tamil": ((0x0B95, 0x0BB9),),
    "thai": ((0x0E01, 0x0E2E),),
    "georgian": ((0x10D0, 0x10FA),),
    "hiragana": ((0x3041, 0x3096),),
    "katakana": ((0x30A1, 0x30FA),),
    # CJK, Hangul and extension B: the most frequent part of each block (a small vocabulary must hold
    # every character the trainer keeps).
    "hangul": ((0xAC00, 0xAEFF),),
    "cjk": ((0x4E00, 0x5400),),
    "cjk-ext-b": ((0x20000, 0x2007F),),
}
MARKS = {
    "devanagari": [0x093E, 0x093F, 0x0940, 0x0941, 0x0947, 0x094B, 0x094D, 0x0902],
    "bengali": [0x09BE, 0x09BF, 0x09C0, 0x09C7, 0x09CD],
    "tamil": [0x0BBE, 0x0BBF, 0x0BC0, 0x0BCD],
    "thai": [0x0E31, 0x0E34, 0x0E35, 0x0E48, 0x0E49],
    "arabic": [0x064B, 0x064E, 0x064F, 0x0650, 0x0651],
    "hebrew": [0x05B0, 0x05B4, 0x05B8, 0x05BC],
}
EMOJI = ["😀", "😂", "🎉", "🚀", "👍🏽", "👩‍💻", "👨‍👩‍👧‍👦", "🇫🇷", "🇯🇵", "1️⃣", "❤️", "🏳️‍🌈", "✋🏿"]
COMPAT = ["ﬁ", "ﬂ", "™", "①", "㍿", "ｈｅｌｌｏ", "ＡＢＣ", "！", "？", "½", "²", "ℌ", "㎏", "…", "ﾊﾝｶｸ", "Å", "ǅ"]
PUNCT = list(".,;:!?'\"()[]{}-–—/\\@#$%^&*_+=<>|~`") + ["。", "、", "「", "」", "《", "》", "¿", "¡", "«", "»", "„", "“", "”"]
DIGITS = ["0123456789", "٠١٢٣٤٥٦٧٨٩", "０１２３４５６７８９", "०१२३४५६७८९"]


def _word(rng, script):
    ranges = SCRIPTS[script]
    lo, hi = ranges[rng.randrange(len(ranges))]
    n = rng.randint(1, 2) if script in ("cjk", "cjk-ext-b", "hangul") else rng.randint(2, 8)
    out = []
    for _ in range(n):
        out.append(chr(rng.randint(lo, hi)))
        if script in MARKS and rng.random() < 0.35:
            out.append(chr(rng.choice(MARKS[script])))
    return "".join(out)


def _token(rng):
    r = rng.random()
    if r < 0.45:
        w = rng.choice(ENGLISH)
        return w.capitalize() if rng.random() < 0.15 else (w.upper() if rng.random() < 0.03 else w)
    if r < 0.5:
        return rng.choice(ACCENTED)
    if r < 0.8:
        return _word(rng, rng.choice(list(SCRIPTS)))
    if r < 0.85:
        digits = rng.choice(DIGITS)
        return "".join(rng.choice(digits) for _ in range(rng.randint(1, 6)))
    if r < 0.9:
        return rng.choice(PUNCT)
    if r < 0.95:
        return rng.choice(EMOJI)
    return rng.choice(COMPAT)


def lines(seed=20240417, count=12000):
    """`count` lines of 3 to 30 tokens, mostly space-separated (CJK and Thai often without spaces)."""
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        parts = []
        for _ in range(rng.randint(3, 30)):
            parts.append(_token(rng))
            parts.append("" if rng.random() < 0.08 else " ")
        out.append("".join(parts).strip())
    return out
