"""The ranker: a small Keras model, a DCN-v2 style cross layer beside a deep tower."""
from __future__ import annotations

import os
import threading

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from tensorflow import keras  # noqa: E402


def build_model(n_features: int, normalizer_data: np.ndarray | None = None, seed: int | None = None) -> keras.Model:
    """A compiled ranker; with ``seed``, its initial weights and the order ``fit`` shuffles in are fixed
    (the same on every run of one machine; float summation may still differ between machines)."""
    if seed is not None:
        keras.utils.set_random_seed(seed)
    inputs = keras.Input(shape=(n_features,), name="features")
    norm = keras.layers.Normalization(name="normalize")
    if normalizer_data is not None:
        norm.adapt(normalizer_data)
    x0 = norm(inputs)
    # Cross layer: x0 * (W x0 + b) + x0 learns explicit feature interactions.
    cross = keras.layers.Add()([keras.layers.Multiply()([x0, keras.layers.Dense(n_features)(x0)]), x0])
    deep = keras.layers.Dense(128, activation="relu")(x0)
    deep = keras.layers.Dense(64, activation="relu")(deep)
    joined = keras.layers.Concatenate()([cross, deep])
    # A logit: ordering is all serving needs; BCE on logits is the numerically stable form.
    output = keras.layers.Dense(1, name="score")(joined)
    model = keras.Model(inputs, output, name="ranker")
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss=keras.losses.BinaryCrossentropy(from_logits=True))
    return model


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

    def __init__(self, model: keras.Model):
        self.n_features = int(model.input_shape[-1])
        converter = tf.lite.TFLiteConverter.from_keras_model(model)
        self.flatbuffer = converter.convert()
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
