"""GPT-2's byte-to-character mapping, computed here independently of SoupLab and of the
libraries under test (openai/gpt-2 encoder.py): the tokenizer checks share it."""


def bytes_to_unicode():
    """Printable bytes stand for themselves, the others take U+0100 onwards in increasing order."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))
