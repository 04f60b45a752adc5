#!/usr/bin/env python3
"""Writes a tiny Hugging Face Llama model (safetensors + tokenizer + chat template, ~1 MB) for recording the
`vllm` and `transformers-serve` targets. Nothing is downloaded: the weights are random (numpy, fixed seed) and the
tokenizer is made here.

The model is shaped as scripts/llama-cpp/make_model.py shapes its GGUF twin, so that generations are short
whatever the server's defaults: every token embedding shares one large direction (dimension 0), so the final
hidden state hardly depends on anything but that direction, and the output head turns it into a fixed token
distribution in which end-of-sequence is the single most likely token (15%); letters, digits, the space and JSON
punctuation share the rest, the closing `"`, `}` and `]` a larger part. A sampled answer therefore stops after a
few random tokens, and output constrained by a grammar (response_format, a forced tool call) closes its strings
and objects soon. The newline that ends the chat template's generation prompt points along a second direction,
whose distribution excludes end-of-sequence: every answer has at least one token.

Tokenizer: byte-level BPE without merges (one token per byte: 256 tokens) plus five added tokens:
<|endoftext|> (pad/bos), <|im_start|>, <|im_end|> (eos), and <tool_call>, </tool_call> (not special, so they are
printed: vLLM's hermes tool parser looks for them). The chat template is ChatML and renders `tools`.
Architecture: LlamaForCausalLM, hidden 128, 2 layers, 4 heads, 2 KV heads, head_dim 32 (vLLM's CPU attention
needs 32 or more), float32.

Usage: make_hf_model.py OUTDIR   (needs numpy, torch, transformers >= 4.45, tokenizers)
"""

import json
import os
import sys

import numpy as np
import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, AddedToken
from tokenizers.pre_tokenizers import ByteLevel
from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

HIDDEN, LAYERS, HEADS, KV_HEADS, HEAD_DIM, FF = 128, 2, 4, 2, 32, 256
EOS_PROB = 0.15
GENERATED = "abcdefghijklmnopqrstuvwxyz0123456789.,: {}[]\""
CLOSERS = {'"': 0.08, "}": 0.05, "]": 0.05}

CHAT_TEMPLATE = (
    "{%- if tools %}{{- '<|im_start|>system\\n' }}"
    "{%- if messages[0]['role'] == 'system' %}{{- (messages[0]['content'] if messages[0]['content'] is string else messages[0]['content'] | tojson) + '\\n\\n' }}{%- endif %}"
    "{{- '# Tools\\n\\nYou may call one or more functions. Function signatures:\\n<tools>' }}"
    "{%- for tool in tools %}{{- '\\n' }}{{- tool | tojson }}{%- endfor %}"
    "{{- '\\n</tools>\\nReturn each call as <tool_call>{\"name\": ..., \"arguments\": ...}</tool_call><|im_end|>\\n' }}"
    "{%- elif messages[0]['role'] == 'system' %}{{- '<|im_start|>system\\n' + (messages[0]['content'] if messages[0]['content'] is string else messages[0]['content'] | tojson) + '<|im_end|>\\n' }}{%- endif %}"
    "{%- for message in messages %}"
    "{%- if message.role == 'system' and loop.first %}"
    "{%- elif message.role == 'assistant' %}{{- '<|im_start|>assistant\\n' }}{%- if message.content %}{{- message.content if message.content is string else message.content | tojson }}{%- endif %}"
    "{%- if message.tool_calls %}{%- for tc in message.tool_calls %}{%- set f = tc.function if tc.function else tc %}"
    "{{- '\\n<tool_call>\\n{\"name\": \"' + f.name + '\", \"arguments\": ' + (f.arguments if f.arguments is string else f.arguments | tojson) + '}\\n</tool_call>' }}{%- endfor %}{%- endif %}"
    "{{- '<|im_end|>\\n' }}"
    "{%- elif message.role == 'tool' %}{{- '<|im_start|>user\\n<tool_response>\\n' + (message.content if message.content is string else message.content | tojson) + '\\n</tool_response><|im_end|>\\n' }}"
    "{%- else %}{{- '<|im_start|>' + message.role + '\\n' + (message.content if message.content is string else message.content | tojson) + '<|im_end|>\\n' }}{%- endif %}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}"
)


def main(out):
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(20261204)

    # One token per byte, in the byte-level alphabet's order, then the added tokens.
    alphabet = ByteLevel.alphabet()
    byte_to_char = {}
    for b, c in zip(sorted(range(256), key=lambda b: b), _bytes_to_unicode()):
        byte_to_char[b] = c
    assert set(byte_to_char.values()) == set(alphabet)
    vocab = {byte_to_char[b]: b for b in range(256)}
    tok = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    tok.add_special_tokens([AddedToken(s, special=True, normalized=False) for s in specials])
    tok.add_tokens([AddedToken(s, special=False, normalized=False) for s in ("<tool_call>", "</tool_call>")])
    n_vocab = tok.get_vocab_size()
    ids = {s: tok.token_to_id(s) for s in specials}
    eos, pad = ids["<|im_end|>"], ids["<|endoftext|>"]

    def tid(ch):
        return vocab[byte_to_char[ord(ch)]]

    closers = {tid(c): p for c, p in CLOSERS.items()}
    others = [tid(c) for c in GENERATED if tid(c) not in closers]

    def noise(*shape):
        return (rng.standard_normal(shape) * 0.02).astype(np.float32)

    embed = noise(n_vocab, HIDDEN)
    embed[:, 0] = 1.0
    newline = tid("\n")
    embed[newline, 0], embed[newline, 1] = 0.0, 1.0
    logp = np.full(n_vocab, -30.0)
    logp[eos] = np.log(EOS_PROB)
    for t, p in closers.items():
        logp[t] = np.log(p)
    logp[others] = np.log((1.0 - EOS_PROB - sum(closers.values())) / len(others))
    head = noise(n_vocab, HIDDEN)
    head[:, 0] = (logp / np.sqrt(HIDDEN)).astype(np.float32)
    first = logp.copy()
    first[eos] = -30.0
    head[:, 1] = (first / np.sqrt(HIDDEN)).astype(np.float32)

    cfg = LlamaConfig(vocab_size=n_vocab, hidden_size=HIDDEN, intermediate_size=FF, num_hidden_layers=LAYERS,
                      num_attention_heads=HEADS, num_key_value_heads=KV_HEADS, head_dim=HEAD_DIM,
                      max_position_embeddings=4096, rope_theta=10000.0, rms_norm_eps=1e-5,
                      tie_word_embeddings=False, bos_token_id=pad, eos_token_id=eos, pad_token_id=pad,
                      torch_dtype="float32")
    model = LlamaForCausalLM(cfg).to(torch.float32)
    sd = {"model.embed_tokens.weight": embed, "lm_head.weight": head,
          "model.norm.weight": np.ones(HIDDEN, np.float32)}
    q, kv = HEADS * HEAD_DIM, KV_HEADS * HEAD_DIM
    for i in range(LAYERS):
        p = f"model.layers.{i}."
        sd[p + "input_layernorm.weight"] = np.ones(HIDDEN, np.float32)
        sd[p + "post_attention_layernorm.weight"] = np.ones(HIDDEN, np.float32)
        sd[p + "self_attn.q_proj.weight"] = noise(q, HIDDEN)
        sd[p + "self_attn.k_proj.weight"] = noise(kv, HIDDEN)
        sd[p + "self_attn.v_proj.weight"] = noise(kv, HIDDEN)
        sd[p + "self_attn.o_proj.weight"] = noise(HIDDEN, q)
        sd[p + "mlp.gate_proj.weight"] = noise(FF, HIDDEN)
        sd[p + "mlp.up_proj.weight"] = noise(FF, HIDDEN)
        sd[p + "mlp.down_proj.weight"] = noise(HIDDEN, FF)
    missing, unexpected = model.load_state_dict({k: torch.from_numpy(v) for k, v in sd.items()}, strict=False)
    assert not unexpected and all("rotary" in m for m in missing), (missing, unexpected)
    model.generation_config.eos_token_id = eos
    model.generation_config.pad_token_id = pad
    model.generation_config.bos_token_id = pad
    model.save_pretrained(out, safe_serialization=True)

    hf_tok = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|im_end|>", pad_token="<|endoftext|>",
                                     bos_token=None, unk_token=None, model_max_length=4096)
    hf_tok.chat_template = CHAT_TEMPLATE
    hf_tok.save_pretrained(out)
    # Some readers take the template only from tokenizer_config.json.
    tc_path = os.path.join(out, "tokenizer_config.json")
    tc = json.load(open(tc_path))
    tc["chat_template"] = CHAT_TEMPLATE
    tc["tokenizer_class"] = "PreTrainedTokenizerFast"
    json.dump(tc, open(tc_path, "w"), indent=2)
    cp = os.path.join(out, "config.json")
    c = json.load(open(cp))
    c.setdefault("rope_theta", 10000.0)
    c["torch_dtype"] = "float32"
    json.dump(c, open(cp, "w"), indent=2)
    print("wrote", out, "vocab", n_vocab, file=sys.stderr)


def _bytes_to_unicode():
    """GPT-2's byte -> printable character map, in byte order (what the byte-level pre-tokenizer emits)."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    table = dict(zip(bs, cs))
    return [chr(table[b]) for b in range(256)]


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: make_hf_model.py OUTDIR")
    main(sys.argv[1])
