"""Fetch the service jars from Maven Central, once, checksum-verified.

Each folder under ``jars/`` holds a ``pom.xml`` naming one service's artifacts at pinned
versions. Maven resolves them (``--strict-checksums`` fails on a checksum mismatch) into
``<cache_dir>/lib/<name>``; a folder with Java sources of ours (``src/``, only ``flink`` has
one: the batched Cassandra sink of the streaming job) is built with ``mvn package`` and its jar
joins them. A stamp of the pom's and sources' hash makes later runs a no-op until they change.
"""
from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

from config import Settings

JARS_DIR = Path(__file__).resolve().parent
COMPONENTS = tuple(sorted(p.name for p in JARS_DIR.iterdir() if (p / "pom.xml").exists()))


def _sources(component: str) -> list[Path]:
    """What the component's own jar is built from: Java sources and resources (a connector's service file)."""
    return sorted(p for p in (JARS_DIR / component / "src").rglob("*") if p.is_file())


def class_source(component: str, class_name: str) -> str:
    """The Java source of one of our classes (``animerec.flink.SlidingCount``) built into ``component``."""
    return (JARS_DIR / component / "src" / "main" / "java" / f"{class_name.replace('.', '/')}.java").read_text()


def _pom_hash(component: str) -> str:
    digest = hashlib.sha256((JARS_DIR / component / "pom.xml").read_bytes())
    for source in _sources(component):
        digest.update(source.read_bytes())
    return digest.hexdigest()


def lib_path(settings: Settings, component: str) -> Path:
    return settings.lib_dir / component


def is_fetched(settings: Settings, component: str) -> bool:
    stamp = lib_path(settings, component) / ".pom-sha256"
    return stamp.exists() and stamp.read_text().strip() == _pom_hash(component)


def fetch(settings: Settings, component: str) -> Path:
    """Make sure the jars of ``component`` are in the cache; return their folder."""
    target = lib_path(settings, component)
    if is_fetched(settings, component):
        return target
    staging = target.with_name(target.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    goals = ["package", "-DskipTests"] if _sources(component) else []
    subprocess.run(
        ["mvn", "-B", "-q", "--strict-checksums", "-f", str(JARS_DIR / component / "pom.xml"), *goals,
         "dependency:copy-dependencies", "-DincludeScope=runtime", f"-DoutputDirectory={staging}"],
        check=True,
    )
    for built in (JARS_DIR / component / "target").glob("*.jar") if goals else ():
        shutil.copy2(built, staging / built.name)
    (staging / ".pom-sha256").write_text(_pom_hash(component))
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)
    return target


def classpath(settings: Settings, component: str) -> str:
    return ":".join(str(p) for p in jars(settings, component))


def jars(settings: Settings, component: str) -> list[Path]:
    return sorted(fetch(settings, component).glob("*.jar"))


def fetch_all(settings: Settings) -> None:
    for component in COMPONENTS:
        print(f"jars: {component} -> {fetch(settings, component)}", flush=True)
