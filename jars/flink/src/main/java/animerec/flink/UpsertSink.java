package animerec.flink;

import com.datastax.driver.core.BatchStatement;
import com.datastax.driver.core.Cluster;
import com.datastax.driver.core.PoolingOptions;
import com.datastax.driver.core.PreparedStatement;
import com.datastax.driver.core.ResultSet;
import com.datastax.driver.core.ResultSetFuture;
import com.datastax.driver.core.Session;
import com.datastax.driver.core.HostDistance;
import org.apache.flink.cassandra.shaded.com.google.common.util.concurrent.FutureCallback;
import org.apache.flink.cassandra.shaded.com.google.common.util.concurrent.Futures;
import org.apache.flink.cassandra.shaded.com.google.common.util.concurrent.MoreExecutors;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.runtime.state.FunctionInitializationContext;
import org.apache.flink.runtime.state.FunctionSnapshotContext;
import org.apache.flink.streaming.api.checkpoint.CheckpointedFunction;
import org.apache.flink.streaming.api.functions.sink.RichSinkFunction;
import org.apache.flink.streaming.api.operators.StreamingRuntimeContext;
import org.apache.flink.streaming.runtime.tasks.ProcessingTimeService;
import org.apache.flink.types.Row;
import org.apache.flink.types.RowKind;

import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Date;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Writes a changelog of rows to one Cassandra table as idempotent upserts, in batches.
 *
 * <p>Rows are buffered and coalesced by primary key (the last change of a key within a flush wins;
 * UPDATE_BEFORE rows are skipped, DELETE rows delete), then sent as UNLOGGED batches of rows that share a
 * partition where they can, asynchronously with a bound on requests in flight. The buffer is flushed every
 * {@code flushMs} on the task's own timer, when it holds {@code batchRows * maxInFlight} rows, and before every
 * checkpoint barrier, which also waits for every request in flight: a checkpoint completes only once everything
 * before it is in Cassandra (at-least-once; upserts keyed by event make a replay rewrite the same rows).
 *
 * <p>Built from Python (streaming/job.py): the CQL statements, the key columns and the sizes come from the
 * table registry and settings, so this class knows no table.
 */
public class UpsertSink extends RichSinkFunction<Row> implements CheckpointedFunction {
    private static final long serialVersionUID = 1L;

    private final String contactPoints;
    private final int port;
    private final String upsertCql;
    private final String deleteCql;
    private final int[] keyFields;
    private final int partitionFields;
    private final int batchRows;
    private final int maxInFlight;
    private final long flushMs;

    private transient Cluster cluster;
    private transient Session session;
    private transient PreparedStatement upsert;
    private transient PreparedStatement delete;
    private transient Map<List<Object>, Row> buffer;
    private transient Semaphore inFlight;
    private transient AtomicReference<Throwable> failure;
    private transient ProcessingTimeService timers;

    /**
     * @param upsertCql   INSERT binding every field of the row, in order
     * @param deleteCql   DELETE binding the key fields in order, or null when the changelog has no deletes
     * @param keyFields   positions of the primary-key fields in the row
     * @param partitionFields how many of keyFields form the partition key (batches group rows by it)
     */
    public UpsertSink(String contactPoints, int port, String upsertCql, String deleteCql, int[] keyFields,
                      int partitionFields, int batchRows, int maxInFlight, long flushMs) {
        this.contactPoints = contactPoints;
        this.port = port;
        this.upsertCql = upsertCql;
        this.deleteCql = deleteCql;
        this.keyFields = keyFields;
        this.partitionFields = partitionFields;
        this.batchRows = batchRows;
        this.maxInFlight = maxInFlight;
        this.flushMs = flushMs;
    }

    @Override
    public void open(Configuration parameters) {
        PoolingOptions pooling = new PoolingOptions()
                .setMaxRequestsPerConnection(HostDistance.LOCAL, Math.max(1024, maxInFlight * 2))
                .setMaxQueueSize(Math.max(256, maxInFlight * 2));
        cluster = Cluster.builder().addContactPoints(contactPoints.split(",")).withPort(port)
                .withPoolingOptions(pooling).withoutJMXReporting().build();
        session = cluster.connect();
        upsert = session.prepare(upsertCql);
        delete = deleteCql == null ? null : session.prepare(deleteCql);
        buffer = new LinkedHashMap<>();
        inFlight = new Semaphore(maxInFlight);
        failure = new AtomicReference<>();
        timers = ((StreamingRuntimeContext) getRuntimeContext()).getProcessingTimeService();
        scheduleFlush();
    }

    private void scheduleFlush() {
        timers.registerTimer(timers.getCurrentProcessingTime() + flushMs, time -> {
            flush();
            scheduleFlush();
        });
    }

    @Override
    public void invoke(Row row, Context context) throws Exception {
        rethrow();
        if (row.getKind() == RowKind.UPDATE_BEFORE) {
            return;
        }
        buffer.put(key(row), row);
        if (buffer.size() >= batchRows * maxInFlight) {
            flush();
        }
    }

    private List<Object> key(Row row) {
        Object[] key = new Object[keyFields.length];
        for (int i = 0; i < keyFields.length; i++) {
            key[i] = row.getField(keyFields[i]);
        }
        return Arrays.asList(key);
    }

    /** Send the buffer: rows of one partition together, small partitions packed up to batchRows a batch. */
    private void flush() throws Exception {
        rethrow();
        if (buffer.isEmpty()) {
            return;
        }
        Map<List<Object>, List<Row>> partitions = new LinkedHashMap<>();
        for (Map.Entry<List<Object>, Row> e : buffer.entrySet()) {
            partitions.computeIfAbsent(e.getKey().subList(0, partitionFields), k -> new ArrayList<>()).add(e.getValue());
        }
        buffer = new LinkedHashMap<>();
        BatchStatement batch = new BatchStatement(BatchStatement.Type.UNLOGGED);
        for (List<Row> rows : partitions.values()) {
            if (batch.size() > 0 && batch.size() + rows.size() > batchRows) {
                send(batch);
                batch = new BatchStatement(BatchStatement.Type.UNLOGGED);
            }
            for (Row row : rows) {
                batch.add(row.getKind() == RowKind.DELETE ? bindKey(row) : upsert.bind(values(row)));
            }
        }
        if (batch.size() > 0) {
            send(batch);
        }
    }

    private com.datastax.driver.core.BoundStatement bindKey(Row row) {
        if (delete == null) {
            throw new IllegalStateException("a DELETE row reached a sink without a delete statement: " + row);
        }
        Object[] key = new Object[keyFields.length];
        for (int i = 0; i < keyFields.length; i++) {
            key[i] = cql(row.getField(keyFields[i]));
        }
        return delete.bind(key);
    }

    private static Object[] values(Row row) {
        Object[] values = new Object[row.getArity()];
        for (int i = 0; i < values.length; i++) {
            values[i] = cql(row.getField(i));
        }
        return values;
    }

    /** Flink's SQL types to the driver's: timestamps become java.util.Date, arrays lists (of converted elements). */
    private static Object cql(Object value) {
        if (value instanceof Object[]) {
            List<Object> list = new ArrayList<>();
            for (Object element : (Object[]) value) {
                list.add(cql(element));
            }
            return list;
        }
        if (value instanceof Instant) {
            return Date.from((Instant) value);
        }
        if (value instanceof LocalDateTime) {
            return Date.from(((LocalDateTime) value).toInstant(ZoneOffset.UTC));
        }
        return value;
    }

    private void send(BatchStatement batch) throws InterruptedException {
        inFlight.acquire();
        ResultSetFuture future = session.executeAsync(batch);
        Futures.addCallback(future, new FutureCallback<ResultSet>() {
            @Override
            public void onSuccess(ResultSet result) {
                inFlight.release();
            }

            @Override
            public void onFailure(Throwable t) {
                failure.compareAndSet(null, t);
                inFlight.release();
            }
        }, MoreExecutors.directExecutor());
    }

    /** Wait until every request in flight has an answer; fail the task (and restart from a checkpoint) on an error. */
    private void drain() throws Exception {
        if (!inFlight.tryAcquire(maxInFlight, 120, TimeUnit.SECONDS)) {
            throw new IllegalStateException("Cassandra writes still in flight after 120 s");
        }
        inFlight.release(maxInFlight);
        rethrow();
    }

    private void rethrow() throws Exception {
        Throwable t = failure.get();
        if (t != null) {
            throw new Exception("Cassandra write failed: " + t.getMessage(), t);
        }
    }

    @Override
    public void snapshotState(FunctionSnapshotContext context) throws Exception {
        flush();
        drain();
    }

    @Override
    public void initializeState(FunctionInitializationContext context) {
    }

    @Override
    public void close() throws Exception {
        try {
            if (session != null && failure.get() == null) {
                flush();
                drain();
            }
        } finally {
            if (cluster != null) {
                cluster.close();
            }
        }
    }
}
