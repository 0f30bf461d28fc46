"""What ``python -m ops up`` checks before it starts anything.

Each check returns ``None`` or a problem: one line naming what is wrong and what to do about it.
:func:`problems` runs every check that applies; the CLI prints each as ``error: ...`` and exits 2
(README: "Before it starts anything").
"""
from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from config import Settings
from ingest.csv_rows import ANIME, RATINGS, SYNOPSIS, CsvFormat, CsvParser, FormatError
from jars import fetch
from ops import stack
from ops.services import Service

# Kafka 3.9, Cassandra 5.0 (with the flags in ops/services.py), Flink and Spark all run on Java 17.
JAVA_MIN = 17
# At once on a first `make up`: Cassandra's 2 GiB heap and its off-heap memtables (about 3 GiB), Kafka (0.5),
# the streaming job's JVM and Python workers (about 1), Spark's 2 GiB driver while the recall lists are built,
# then TensorFlow training; the API's workers and the other roles add about 1. Less, and the kernel's OOM
# killer ends one of them in the middle of a start.
MIN_MEMORY_GIB = 6.0
# Cassandra's and Kafka's data, Flink's checkpoints, the recall lists' versions and the rankers under the run
# directory: a few GiB after a day of streaming. Less, and a write fails half-way through a start.
MIN_DISK_GIB = 5.0
MEMINFO = Path("/proc/meminfo")
GIB = 1024 ** 3
DATA_FORMATS = (ANIME, RATINGS, SYNOPSIS)


def data_files(settings: Settings) -> list[tuple[Path, CsvFormat]]:
    """The files ``up`` loads, each with the format the loader reads it as."""
    return list(zip((settings.anime_csv, settings.ratings_csv, settings.synopsis_csv), DATA_FORMATS))


def check_data_dir(settings: Settings) -> str | None:
    data_dir = settings.data_dir
    if data_dir.is_dir():
        return None
    names = ", ".join(path.name for path, _ in data_files(settings))
    return (f"data directory {data_dir} not found: set ANIMEREC_DATA_DIR to the folder holding {names} "
            f"(README: Data)")


def check_data_file(path: Path, fmt: CsvFormat) -> str | None:
    """The file exists and its header has the columns the loader needs (only the first line is read)."""
    if not path.is_file():
        return (f"data file {path} not found: put the Kaggle-format {path.name} there or set ANIMEREC_DATA_DIR "
                f"to the folder holding it (README: Data)")
    try:
        CsvParser(path, fmt).close()     # reads and checks the header, as the loader will
    except FormatError as exc:
        return f"data file {exc}: replace it with the Kaggle-format {path.name} (README: Data)"
    return None


def _port_variable(service: Service, port: int) -> str:
    """The ANIMEREC_* variable that sets one of a service's ports (its section is named as the service)."""
    section = getattr(service.settings, service.name, None)
    field = next((f for f in type(section).model_fields if f.endswith("port") and getattr(section, f) == port),
                 None) if section is not None else None
    return f"ANIMEREC_{service.name}_{field}".upper() if field else "its port in config/settings.py"


def check_ports(service: Service) -> str | None:
    """None of the service's loopback ports is held by another process (its own, running, may hold them)."""
    busy = service.busy_ports()
    if not busy:
        return None
    ports = ", ".join(map(str, busy))
    variables = ", ".join(_port_variable(service, port) for port in busy)
    return (f"port {ports} ({service.name}) is in use by another process: stop that process "
            f"(ss -ltnp 'sport = :{busy[0]}' names it) or set {variables} to a free port")


def java_version(java: str) -> int | None:
    """The major version ``java -version`` reports (8 for "1.8.0_392", 17 for "17.0.15"), or None."""
    try:
        said = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.search(r'version "(\d+)(?:\.(\d+))?', said.stderr + said.stdout)
    if match is None:
        return None
    major = int(match[1])
    return int(match[2] or 0) if major == 1 else major


def check_java() -> str | None:
    java = shutil.which("java")
    if java is None:
        return (f"java not found on PATH: install Java {JAVA_MIN} (apt-get install openjdk-{JAVA_MIN}-jdk-headless); "
                f"Kafka, Cassandra, Flink and Spark run on it")
    version = java_version(java)
    if version is None:
        return f"{java} -version names no version: put a Java {JAVA_MIN} first on PATH"
    if version < JAVA_MIN:
        return (f"{java} is Java {version}; Java {JAVA_MIN} or newer is needed: install "
                f"openjdk-{JAVA_MIN}-jdk-headless and put it first on PATH")
    return None


def check_maven(settings: Settings) -> str | None:
    """Maven and a JDK fetch (and build) the service jars: needed only until they are in the cache."""
    if all(fetch.is_fetched(settings, component) for component in fetch.COMPONENTS):
        return None
    missing = [tool for tool in ("mvn", "javac") if shutil.which(tool) is None]
    if not missing:
        return None
    return (f"{' and '.join(missing)} not found on PATH: install Maven and a JDK (apt-get install maven "
            f"openjdk-{JAVA_MIN}-jdk-headless); they fetch the service jars into {settings.lib_dir} once")


def check_node(settings: Settings) -> str | None:
    """node and npm build the web app (make web): needed only while it is not built."""
    if (settings.api.web_dir / "index.html").exists():
        return None
    missing = [tool for tool in ("node", "npm") if shutil.which(tool) is None]
    if not missing:
        return None
    return (f"the web app is not built and {' and '.join(missing)} not found on PATH: install Node.js 20.19 or "
            f"newer with npm (web/package.json), then make web")


def mem_available_gib(meminfo: Path | None = None) -> float | None:
    """MemAvailable of /proc/meminfo in GiB; None where there is no such file (not Linux)."""
    try:
        for line in (meminfo or MEMINFO).read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024 / GIB     # the kernel counts kB
    except (OSError, ValueError, IndexError):
        pass
    return None


def check_memory(meminfo: Path | None = None) -> str | None:
    available = mem_available_gib(meminfo)
    if available is None or available >= MIN_MEMORY_GIB:
        return None
    return (f"only {available:.1f} GiB of memory available (MemAvailable); the stack needs about "
            f"{MIN_MEMORY_GIB:.0f} GiB: stop other programs or use a machine with more memory")


def check_disk(run_dir: Path) -> str | None:
    """Free space on the disk the run directory is (or will be) on."""
    existing = next(p for p in (run_dir, *run_dir.parents) if p.exists())
    free = shutil.disk_usage(existing).free / GIB
    if free >= MIN_DISK_GIB:
        return None
    return (f"only {free:.1f} GiB free on the disk of {run_dir}; the stack needs about {MIN_DISK_GIB:.0f} GiB: "
            f"free some space or set ANIMEREC_RUN_DIR to a folder on a larger disk")


def problems(settings: Settings, data: bool = True) -> list[str]:
    """Every problem that would stop ``up`` part-way, in the order it would meet them; [] when there is none.
    ``data``: whether ``up`` loads the data (not with ``--skip-data``)."""
    found: list[str | None] = []
    if data:
        found.append(check_data_dir(settings))
        if found[-1] is None:
            found += [check_data_file(path, fmt) for path, fmt in data_files(settings)]
    services = stack.all_services(settings)
    found += [check_ports(service) for service in services]
    found += [check_java(), check_maven(settings), check_node(settings)]
    if not any(service.running() for service in services):   # a running stack holds its memory already
        found.append(check_memory())
    found.append(check_disk(settings.run_dir))
    return [problem for problem in found if problem]
