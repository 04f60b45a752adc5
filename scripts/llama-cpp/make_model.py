#!/usr/bin/env python3
"""Writes a tiny GGUF model (llama architecture, ~0.3 MB) for recording the `llama-cpp` target.

Nothing is downloaded: the weights are random (numpy, fixed seed, so the file is the same on every machine)
and the tokenizer is a small SentencePiece-style ("llama") vocabulary made here: the three control tokens,
the 256 byte tokens llama.cpp's byte fallback needs (any text tokenizes), single letters and twenty words.

Random weights give random text, and the harness treats content-dependent cases on this target as skipped.
One thing is shaped on purpose: every token embedding shares one large direction, so the final hidden state
hardly depends on anything but the last token, and the output head turns that direction into a fixed token
distribution in which end-of-sequence is the single most likely token (15%); the words, letters, digits and JSON punctuation
share the rest, the closing `"`, `}` and `]` a larger part. So a greedy request stops at once (empty
content), a sampled one after a few random tokens, and output constrained by a grammar (response_format, a
forced tool call) closes its strings and objects soon: generations are bounded without relying on
`max_tokens`, and recorded fixtures stay small. The newline ending the chat template's generation prompt
points along a second direction, whose distribution excludes end-of-sequence (and the newline is never
generated): so every answer has at least one token, and whether content is empty never depends on chance.

Usage: make_model.py OUT.gguf
"""

import sys

import numpy as np
from gguf import GGUFWriter, TokenType

N_EMBD = 64
N_HEAD = 4
N_FF = 96
N_LAYER = 2
N_CTX_TRAIN = 8192
EOS_PROB = 0.15
LETTERS = "abcdefghijklmnopqrstuvwxyz"
# Byte tokens that may be generated (the rest of the 256 never are), and the closers' larger shares.
GENERATED_BYTES = "0123456789.,:{}[]\" "
CLOSERS = {'"': 0.08, "}": 0.05, "]": 0.05}

WORDS = [
    "the", "a", "of", "and", "to", "in", "is", "it", "that", "was",
    "for", "on", "are", "as", "with", "his", "they", "at", "be", "this",
]

# A chatml-like template: llama-cpp-python renders it with Jinja (a content-part list renders as its repr).
CHAT_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def vocabulary():
    tokens, scores, types = [], [], []

    def add(text, score, kind):
        tokens.append(text)
        scores.append(score)
        types.append(kind)

    add("<unk>", 0.0, TokenType.UNKNOWN)
    add("<s>", 0.0, TokenType.CONTROL)
    add("</s>", 0.0, TokenType.CONTROL)
    for b in range(256):
        add(f"<0x{b:02X}>", 0.0, TokenType.BYTE)
    add("\u2581", -1.0, TokenType.NORMAL)
    for c in LETTERS:
        add(c, -2.0, TokenType.NORMAL)
    for w in WORDS:
        add("\u2581" + w, -0.5, TokenType.NORMAL)
    return tokens, scores, types


def main(out):
    rng = np.random.default_rng(20261203)
    tokens, scores, types = vocabulary()
    n_vocab = len(tokens)
    eos = 2
    index = {t: i for i, t in enumerate(tokens)}
    byte = lambda c: index[f"<0x{ord(c):02X}>"]  # noqa: E731
    closers = {byte(c): p for c, p in CLOSERS.items()}
    others = [index["\u2581" + w] for w in WORDS] + [index[c] for c in LETTERS]
    others += [byte(c) for c in GENERATED_BYTES if byte(c) not in closers]

    def noise(*shape):
        return (rng.standard_normal(shape) * 0.02).astype(np.float32)

    # Embeddings: a shared direction (dimension 0) plus noise, so RMS-normed states point along it.
    token_embd = noise(n_vocab, N_EMBD)
    token_embd[:, 0] = 1.0
    newline = byte("\n")
    token_embd[newline, 0], token_embd[newline, 1] = 0.0, 1.0
    # Output head: the logit of token t is about sqrt(N_EMBD) * output[t, 0]; set it to log p(t).
    logp = np.full(n_vocab, -30.0)
    logp[eos] = np.log(EOS_PROB)
    for t, p in closers.items():
        logp[t] = np.log(p)
    logp[others] = np.log((1.0 - EOS_PROB - sum(closers.values())) / len(others))
    output = noise(n_vocab, N_EMBD)
    output[:, 0] = (logp / np.sqrt(N_EMBD)).astype(np.float32)
    first = logp.copy()  # after the generation prompt's newline: anything but end-of-sequence
    first[eos] = -30.0
    output[:, 1] = (first / np.sqrt(N_EMBD)).astype(np.float32)

    w = GGUFWriter(out, "llama")
    w.add_name("compat-tiny-random-llama")
    w.add_context_length(N_CTX_TRAIN)
    w.add_embedding_length(N_EMBD)
    w.add_block_count(N_LAYER)
    w.add_feed_forward_length(N_FF)
    w.add_head_count(N_HEAD)
    w.add_head_count_kv(N_HEAD)
    w.add_rope_dimension_count(N_EMBD // N_HEAD)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_vocab_size(n_vocab)
    w.add_tokenizer_model("llama")
    w.add_token_list(tokens)
    w.add_token_scores(scores)
    w.add_token_types(types)
    w.add_unk_token_id(0)
    w.add_bos_token_id(1)
    w.add_eos_token_id(eos)
    w.add_add_bos_token(True)
    w.add_add_eos_token(False)
    w.add_chat_template(CHAT_TEMPLATE)

    ones = np.ones(N_EMBD, dtype=np.float32)
    w.add_tensor("token_embd.weight", token_embd)
    w.add_tensor("output_norm.weight", ones)
    w.add_tensor("output.weight", output)
    for i in range(N_LAYER):
        p = f"blk.{i}."
        w.add_tensor(p + "attn_norm.weight", ones)
        w.add_tensor(p + "attn_q.weight", noise(N_EMBD, N_EMBD))
        w.add_tensor(p + "attn_k.weight", noise(N_EMBD, N_EMBD))
        w.add_tensor(p + "attn_v.weight", noise(N_EMBD, N_EMBD))
        w.add_tensor(p + "attn_output.weight", noise(N_EMBD, N_EMBD))
        w.add_tensor(p + "ffn_norm.weight", ones)
        w.add_tensor(p + "ffn_gate.weight", noise(N_FF, N_EMBD))
        w.add_tensor(p + "ffn_up.weight", noise(N_FF, N_EMBD))
        w.add_tensor(p + "ffn_down.weight", noise(N_EMBD, N_FF))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: make_model.py OUT.gguf")
    main(sys.argv[1])
