"""The JVM pieces the stack runs (Kafka, Cassandra, the Flink and Spark connectors), fetched from Maven Central.

Just above configuration: it imports only ``config``; the launcher, the streaming job and the
batch jobs ask it for classpaths.
"""
