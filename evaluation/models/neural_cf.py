"""Neural collaborative filtering (NeuMF, He et al., WWW 2017) in TensorFlow: the seeds' neural baseline.

Two towers over learnt user and title embeddings -- a generalised matrix factorisation (the
element-wise product of one pair of embeddings) and an MLP over the concatenation of another pair --
joined by one output logit. Trained on implicit feedback: every watched (user, title) pair is a
positive, ``negatives`` titles drawn uniformly per positive (fresh each epoch) are negatives, binary
cross-entropy. Scores every title for a user by running the network on all (user, title) pairs.
"""
from __future__ import annotations

import os

import numpy as np

from evaluation.data import InteractionData
from evaluation.models.base import ScoringRecommender

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import tensorflow as tf  # noqa: E402
from tensorflow import keras  # noqa: E402


def neumf(n_users: int, n_items: int, factors: int, layers: tuple[int, ...], l2: float) -> keras.Model:
    """The NeuMF network: inputs ``user`` and ``item`` (int indices), output one logit per pair."""
    user = keras.Input(shape=(), dtype="int32", name="user")
    item = keras.Input(shape=(), dtype="int32", name="item")

    def embedding(n: int, name: str) -> keras.layers.Embedding:
        return keras.layers.Embedding(n, factors, embeddings_regularizer=keras.regularizers.l2(l2), name=name)

    gmf = keras.layers.Multiply()([embedding(n_users, "gmf_user")(user), embedding(n_items, "gmf_item")(item)])
    mlp = keras.layers.Concatenate()([embedding(n_users, "mlp_user")(user), embedding(n_items, "mlp_item")(item)])
    for width in layers:
        mlp = keras.layers.Dense(width, activation="relu")(mlp)
    logit = keras.layers.Dense(1, name="logit")(keras.layers.Concatenate()([gmf, mlp]))
    return keras.Model([user, item], logit, name="neumf")


class NeuralCF(ScoringRecommender):
    # The paper's small tower; negatives per positive and epochs are chosen on the validation split
    # (each fit ~30 s on two cores: more negatives helped, more epochs over-fitted).
    tuning_grid = {"negatives": (4, 16), "epochs": (4, 8)}
    batch_size = 128

    def __init__(self, seed: int = 42, factors: int = 32, layers: tuple[int, ...] = (64, 32, 16),
                 negatives: int = 16, epochs: int = 4, l2: float = 1e-6, learning_rate: float = 2e-3,
                 fit_batch: int = 4096) -> None:
        super().__init__(seed)
        self.factors = factors
        self.layers = tuple(layers)
        self.negatives = negatives
        self.epochs = epochs
        self.l2 = l2
        self.learning_rate = learning_rate
        self.fit_batch = fit_batch

    def _fit(self, train: InteractionData) -> None:
        keras.utils.set_random_seed(self.seed)
        rng = np.random.default_rng(self.seed)
        self._model = neumf(train.n_users, train.n_items, self.factors, self.layers, self.l2)
        self._model.compile(optimizer=keras.optimizers.Adam(self.learning_rate),
                            loss=keras.losses.BinaryCrossentropy(from_logits=True))
        positives = train.watched.tocoo()
        users = np.repeat(positives.row.astype(np.int32), 1 + self.negatives)
        labels = np.tile(np.r_[1.0, np.zeros(self.negatives)].astype(np.float32), positives.nnz)
        for _ in range(self.epochs):
            items = rng.integers(0, train.n_items, size=(positives.nnz, 1 + self.negatives), dtype=np.int32)
            items[:, 0] = positives.col
            order = rng.permutation(len(users))
            self._model.fit({"user": users[order], "item": items.ravel()[order]}, labels[order],
                            batch_size=self.fit_batch, epochs=1, shuffle=False, verbose=0)
        self._score = tf.function(lambda u, i: self._model({"user": u, "item": i}, training=False))

    def score_users(self, user_indices: np.ndarray) -> np.ndarray:
        n_items = self._train.n_items
        users = np.repeat(np.asarray(user_indices, dtype=np.int32), n_items)
        items = np.tile(np.arange(n_items, dtype=np.int32), len(user_indices))
        return self._score(tf.constant(users), tf.constant(items)).numpy().reshape(len(user_indices), n_items)
