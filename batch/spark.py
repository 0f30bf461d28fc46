"""The one SparkSession factory of animerec's batch jobs.

Configured from :class:`config.Settings`: master and driver memory, the Spark-Cassandra
connector jars (fetched once into ``<cache_dir>/lib/spark``; supplied offline through
``spark.jars``), the Cassandra contact point, no UI, warnings-only logs. Extra tuning knobs
come from ``settings.spark``.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

from jars import fetch
from config import Settings

CASSANDRA_FORMAT = "org.apache.spark.sql.cassandra"
_LOG4J2 = Path(__file__).resolve().parent / "log4j2.properties"


def spark_session(settings: Settings, app_name: str = "animerec-batch"):
    """Return the (process-wide) SparkSession, creating it on first use.

    The connector jars reach the driver's classpath only when the JVM starts, so every session
    of a process is made here, with them; a session already running is returned as it is.
    """
    from pyspark.sql import SparkSession

    s = settings
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    os.environ.setdefault("SPARK_LOCAL_DIRS", str(local_dir(s)))
    java_opts = f"-Dlog4j.configurationFile=file:{_LOG4J2} -Dio.netty.tryReflectionSetAccessible=true"
    builder = (SparkSession.builder.appName(app_name).master(s.spark.master)
               .config("spark.driver.memory", s.spark.driver_memory)
               .config("spark.driver.extraJavaOptions", java_opts)
               .config("spark.executor.extraJavaOptions", java_opts)
               .config("spark.ui.enabled", "false")
               .config("spark.ui.showConsoleProgress", "false")
               .config("spark.sql.shuffle.partitions", str(s.spark.shuffle_partitions))
               .config("spark.default.parallelism", str(s.spark.shuffle_partitions))
               .config("spark.sql.execution.arrow.pyspark.enabled", "true")
               .config("spark.sql.session.timeZone", "UTC")
               .config("spark.driver.host", "127.0.0.1")
               .config("spark.jars", ",".join(str(p) for p in fetch.jars(s, "spark")))
               .config("spark.sql.extensions", "com.datastax.spark.connector.CassandraSparkExtensions")
               .config("spark.cassandra.connection.host", ",".join(s.cassandra.contact_points))
               .config("spark.cassandra.connection.port", str(s.cassandra.port))
               .config("spark.cassandra.output.concurrent.writes", "16")
               .config("spark.cassandra.output.batch.grouping.key", "partition")
               .config("spark.cassandra.output.batch.size.bytes", "4096")   # under Cassandra's 5 KiB warning
               .config("spark.cassandra.output.consistency.level", "LOCAL_ONE")
               .config("spark.cassandra.input.consistency.level", "LOCAL_ONE"))
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("WARN")
    return spark


def local_dir(settings: Settings) -> Path:
    """Spark's scratch space under the run dir."""
    path = settings.run_dir / "spark"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _table_options(table: str, settings: Settings) -> dict[str, str]:
    """Keyspace, table and contact point per operation: a session made for other settings still
    reaches the right cluster (Spark keeps one session per process)."""
    s = settings
    return {"keyspace": s.cassandra.keyspace, "table": table,
            "spark.cassandra.connection.host": ",".join(s.cassandra.contact_points),
            "spark.cassandra.connection.port": str(s.cassandra.port)}


def read_table(spark, table: str, settings: Settings):
    """A Cassandra table of the configured keyspace as a DataFrame (names from ``config.registry.Tables``)."""
    return spark.read.format(CASSANDRA_FORMAT).options(**_table_options(table, settings)).load()


def write_table(df, table: str, settings: Settings) -> None:
    """Append ``df`` to a Cassandra table (upserts; columns must match the table's)."""
    df.write.format(CASSANDRA_FORMAT).options(**_table_options(table, settings)).mode("append").save()
