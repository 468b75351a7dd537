"""Checks an export folder's byte-level tokenizer with Hugging Face transformers, as users load it
(AutoTokenizer.from_pretrained(folder), no code of ours), and prints what it checked as JSON.
Exits 1 with the failed check on stderr.

  - it loads as a fast tokenizer of 256 tokens with no special tokens, model_max_length = the
    folder's n_positions;
  - encode(text) is the text's UTF-8 bytes and decode(encode(text)) == text, for ASCII, Latin,
    CJK, emoji, control characters and random code points (valid UTF-8 with multi-byte
    characters);
  - for arbitrary bytes (every byte value, random bytes, invalid UTF-8: lone continuation bytes,
    truncated sequences, overlongs, surrogates, 0xFE/0xFF), the tokenizer's byte-level mapping
    gives token ids == list(raw bytes): convert_tokens_to_ids of the byte-level characters
    (GPT-2's bytes_to_unicode, computed here independently) are the bytes, and
    convert_ids_to_tokens(bytes) maps back to the same bytes;
  - the limit, stated rather than hidden: decode() returns a str, so bytes that are not valid
    UTF-8 come back as U+FFFD replacement characters, exactly as
    raw.decode("utf-8", errors="replace") gives them; the exact bytes are bytes(ids).

usage: python check_tokenizer.py FOLDER
"""
import json
import random
import sys

from transformers import AutoTokenizer

from byte_level import bytes_to_unicode


def check(cond, what):
    if not cond:
        print("FAILED: " + what, file=sys.stderr)
        sys.exit(1)


def main():
    folder = sys.argv[1]
    with open(folder + "/config.json") as f:
        n_positions = json.load(f)["n_positions"]
    tok = AutoTokenizer.from_pretrained(folder)
    report = {"class": type(tok).__name__, "is_fast": tok.is_fast, "vocab": len(tok),
              "model_max_length": tok.model_max_length}
    check(tok.is_fast, "not a fast (tokenizers) tokenizer")
    check(len(tok) == 256, f"{len(tok)} tokens, want 256")
    check(tok.all_special_ids == [], f"special tokens {tok.all_special_tokens}")
    check(tok.eos_token is None and tok.pad_token is None and tok.bos_token is None, "a special token is set")
    check(tok.model_max_length == n_positions, f"model_max_length {tok.model_max_length} != n_positions {n_positions}")

    rng = random.Random(7)
    texts = ["Hello, world!", "", " leading and trailing spaces ", "def f(x):\n\treturn x  # tab\r\n",
             "Grüße aus Köln, ça va? naïve façade", "日本語のテキストと中文", "emoji 🙂🚀 and flags 🇫🇷",
             "nul \x00 and DEL \x7f and bell \x07", "Ġ and Ċ are ordinary characters too"]
    for _ in range(200):  # random code points, surrogates excluded (they are not valid UTF-8)
        n = rng.randrange(1, 40)
        texts.append("".join(chr(rng.choice([rng.randrange(0x20, 0x7F), rng.randrange(0x80, 0x800),
                                             rng.randrange(0x800, 0xD800), rng.randrange(0xE000, 0x10000),
                                             rng.randrange(0x10000, 0x110000)])) for _ in range(n)))
    multibyte = 0
    for s in texts:
        ids = tok.encode(s)
        check(ids == list(s.encode("utf-8")), f"encode({s!r}) is not its UTF-8 bytes: {ids[:20]}")
        check(tok(s)["input_ids"] == ids, f"tok({s!r}) adds or changes tokens")
        check(tok.decode(ids) == s, f"decode(encode({s!r})) == {tok.decode(ids)!r}")
        multibyte += any(ord(c) > 0x7F for c in s)
    report["texts_round_tripped"] = len(texts)
    report["texts_with_multibyte_characters"] = multibyte

    mapping = bytes_to_unicode()
    inverse = {c: b for b, c in mapping.items()}
    raws = [bytes(range(256)), bytes(reversed(range(256))), b"\x80", b"\xbf\xbf", b"\xc3", b"caf\xc3",
            b"\xe2\x82", b"\xf0\x9f\x99", b"\xc0\xaf", b"\xe0\x80\xaf", b"\xed\xa0\x80", b"\xf4\x90\x80\x80",
            b"\xfe\xff", b"ok \xff then text"]
    raws += [bytes(rng.randrange(256) for _ in range(rng.randrange(1, 64))) for _ in range(200)]
    lossy = 0
    for raw in raws:
        chars = [mapping[b] for b in raw]
        ids = tok.convert_tokens_to_ids(chars)
        check(ids == list(raw), f"convert_tokens_to_ids of the byte-level characters of {raw!r} gives {ids[:20]}")
        tokens = tok.convert_ids_to_tokens(list(raw))
        check(bytes(inverse[t] for t in tokens) == raw, f"convert_ids_to_tokens({list(raw)[:20]}) does not map back")
        text = tok.decode(list(raw))
        check(text == raw.decode("utf-8", errors="replace"),
              f"decode({raw!r}) == {text!r}, not the replacement-character decoding")
        try:
            raw.decode("utf-8")
            check(text.encode("utf-8") == raw, f"valid UTF-8 {raw!r} did not decode exactly")
        except UnicodeDecodeError:
            lossy += 1
    report["byte_strings_checked"] = len(raws)
    report["invalid_utf8_decoded_with_replacement"] = lossy
    json.dump(report, sys.stdout)


if __name__ == "__main__":
    main()
