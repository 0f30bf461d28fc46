"""The ranker: a small Keras model (normalisation, a ReLU tower with dropout, a logit), listwise-trained."""
from __future__ import annotations

import os
import threading

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from tensorflow import keras  # noqa: E402


def build_model(n_features: int, normalizer_data: np.ndarray | None = None, seed: int | None = None,
                hidden: tuple[int, ...] = (64, 32), dropout: float = 0.3, name: str = "ranker") -> keras.Model:
    """A compiled ranker: the features normalised (mean and variance learnt from ``normalizer_data``, saved in
    the model), a ReLU tower with dropout, one logit. With ``seed``, its initial weights and the order ``fit``
    shuffles in are fixed (the same on every run of one machine; float summation may still differ between
    machines). The design study (docs/RESULTS.md) chose the shape: without dropout it over-fits."""
    if seed is not None:
        keras.utils.set_random_seed(seed)
    inputs = keras.Input(shape=(n_features,), name="features")
    norm = keras.layers.Normalization(name="normalize")
    if normalizer_data is not None:
        norm.adapt(normalizer_data)
    x = norm(inputs)
    for width in hidden:
        x = keras.layers.Dense(width, activation="relu")(x)
        x = keras.layers.Dropout(dropout, seed=seed)(x)
    # A logit: ordering is all serving needs; BCE on logits is the numerically stable form.
    output = keras.layers.Dense(1, name="score")(x)
    model = keras.Model(inputs, output, name=name)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss=keras.losses.BinaryCrossentropy(from_logits=True))
    return model


def averaged(members: list[keras.Model]) -> keras.Model:
    """One model whose score is the mean of the ``members``' logits (each a ranker of the same input width,
    trained apart from different seeds, each with its own name): one file to save and serve, the variance of
    one seed's fit averaged away."""
    if len(members) == 1:
        return members[0]
    inputs = keras.Input(shape=(int(members[0].input_shape[-1]),), name="features")
    output = keras.layers.Average(name="score")([member(inputs) for member in members])
    return keras.Model(inputs, output, name="ranker_ensemble")


def softmax_list_loss(labels: tf.Tensor, scores: tf.Tensor, mask: tf.Tensor) -> tf.Tensor:
    """Listwise softmax cross-entropy (ListNet's top-one form; TF-Ranking's ``SoftmaxLoss``): per list, the
    cross-entropy between the labels normalised to sum 1 and the softmax of the scores over the list's real
    rows (``mask``); the mean over lists that hold a positive."""
    scores = tf.where(mask, scores, tf.fill(tf.shape(scores), -1e9))
    labels = tf.where(mask, labels, 0.0)
    total = tf.reduce_sum(labels, axis=1, keepdims=True)
    target = labels / tf.maximum(total, 1e-9)
    per_list = -tf.reduce_sum(target * tf.nn.log_softmax(scores, axis=1), axis=1)
    has_positive = tf.cast(total[:, 0] > 0, tf.float32)
    return tf.reduce_sum(per_list * has_positive) / tf.maximum(tf.reduce_sum(has_positive), 1.0)


def fit_listwise(model: keras.Model, lists: list[np.ndarray], labels: list[np.ndarray], epochs: int,
                 lists_per_batch: int = 32, learning_rate: float = 1e-3, seed: int = 0) -> list[float]:
    """Train the row scorer ``model`` with :func:`softmax_list_loss` over whole candidate lists (one per user,
    padded to the longest); lists without a positive teach nothing and are left out. Returns the mean loss
    per epoch."""
    kept = [i for i, y in enumerate(labels) if y.sum() > 0]
    if not kept:
        raise ValueError("no candidate list holds a positive: nothing to learn from")
    width, longest = lists[kept[0]].shape[1], max(len(lists[i]) for i in kept)
    x = np.zeros((len(kept), longest, width), dtype=np.float32)
    y = np.zeros((len(kept), longest), dtype=np.float32)
    m = np.zeros((len(kept), longest), dtype=bool)
    for row, i in enumerate(kept):
        n = len(lists[i])
        x[row, :n], y[row, :n], m[row, :n] = lists[i], labels[i], True
    optimizer = keras.optimizers.Adam(learning_rate)

    @tf.function(reduce_retracing=True)
    def step(xb, yb, mb):
        with tf.GradientTape() as tape:
            scores = tf.reshape(model(tf.reshape(xb, [-1, width]), training=True), tf.shape(yb))
            loss = softmax_list_loss(yb, scores, mb)
        optimizer.apply_gradients(zip(tape.gradient(loss, model.trainable_variables), model.trainable_variables))
        return loss

    rng, history = np.random.default_rng(seed), []
    for _ in range(epochs):
        order = rng.permutation(len(kept))
        losses = [float(step(x[b], y[b], m[b])) for b in np.array_split(order, max(1, len(order) // lists_per_batch))]
        history.append(float(np.mean(losses)))
    return history


class Scorer:
    """A loaded model wrapped in one traced function: a few hundred rows score in about a millisecond."""

    def __init__(self, model: keras.Model):
        self.model = model
        self.n_features = int(model.input_shape[-1])
        self._score = tf.function(lambda x: model(x, training=False),
                                  input_signature=[tf.TensorSpec([None, self.n_features], tf.float32)])

    def __call__(self, features: np.ndarray) -> np.ndarray:
        if features.shape[0] == 0:
            return np.zeros(0, dtype=np.float32)
        return self._score(tf.convert_to_tensor(features, dtype=tf.float32)).numpy().ravel()


class LiteScorer:
    """The same model converted to TensorFlow Lite and run by its interpreter: about a quarter of the
    cost of :class:`Scorer` for a request's 300 candidates (benchmarks/bench_ranker.py measures both),
    with scores equal to within float rounding (tests/unit/test_ranking.py). An interpreter is not
    thread-safe, so each thread gets its own."""

    def __init__(self, model: keras.Model | None = None, *, flatbuffer: bytes | None = None,
                 n_features: int | None = None):
        """From a Keras ``model`` (converted here: seconds of CPU), or from a ``flatbuffer`` converted before (what
        a saved ranker version carries: loading it takes milliseconds) with its input width ``n_features``."""
        if model is not None:
            n_features = int(model.input_shape[-1])
            flatbuffer = tf.lite.TFLiteConverter.from_keras_model(model).convert()
        if flatbuffer is None or n_features is None:
            raise ValueError("a LiteScorer needs a model, or a flatbuffer and its input width")
        self.n_features, self.flatbuffer = int(n_features), flatbuffer
        self._local = threading.local()

    def _interpreter(self, rows: int):
        state = getattr(self._local, "state", None)
        if state is None or state[1] != rows:
            interpreter = (state[0] if state is not None
                           else tf.lite.Interpreter(model_content=self.flatbuffer, num_threads=1))
            source = interpreter.get_input_details()[0]["index"]
            interpreter.resize_tensor_input(source, [rows, self.n_features])
            interpreter.allocate_tensors()
            state = self._local.state = (interpreter, rows, source, interpreter.get_output_details()[0]["index"])
        return state

    def __call__(self, features: np.ndarray) -> np.ndarray:
        if features.shape[0] == 0:
            return np.zeros(0, dtype=np.float32)
        interpreter, _, source, target = self._interpreter(features.shape[0])
        interpreter.set_tensor(source, np.ascontiguousarray(features, dtype=np.float32))
        interpreter.invoke()
        return interpreter.get_tensor(target).ravel().copy()
