package animerec.flink;

import com.datastax.driver.core.BatchStatement;
import com.datastax.driver.core.BoundStatement;
import com.datastax.driver.core.Cluster;
import com.datastax.driver.core.CodecRegistry;
import com.datastax.driver.core.ColumnDefinitions;
import com.datastax.driver.core.PoolingOptions;
import com.datastax.driver.core.PreparedStatement;
import com.datastax.driver.core.ProtocolVersion;
import com.datastax.driver.core.ResultSet;
import com.datastax.driver.core.ResultSetFuture;
import com.datastax.driver.core.Session;
import com.datastax.driver.core.TimestampGenerator;
import com.datastax.driver.core.TypeCodec;
import com.datastax.driver.core.HostDistance;
import com.datastax.driver.core.exceptions.OperationTimedOutException;
import com.datastax.driver.core.exceptions.OverloadedException;
import com.datastax.driver.core.exceptions.WriteTimeoutException;
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
import org.apache.flink.table.data.ArrayData;
import org.apache.flink.table.data.MapData;
import org.apache.flink.table.data.RowData;
import org.apache.flink.table.data.TimestampData;
import org.apache.flink.table.types.logical.ArrayType;
import org.apache.flink.table.types.logical.LogicalType;
import org.apache.flink.table.types.logical.MapType;
import org.apache.flink.types.RowKind;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Date;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Writes a changelog of rows to one Cassandra table as idempotent upserts, in batches.
 *
 * <p>Rows arrive in Flink's internal format ({@link RowData}, from {@link UpsertSinkFactory}: a SQL INSERT
 * INTO a table of connector {@code animerec-cassandra}); each is turned into the driver's Java values once, by
 * its fields' SQL types, and serialized by each bind variable's codec, looked up once (no per-value codec lookup).
 *
 * <p>Rows are buffered and coalesced by primary key (the last change of a key within a flush wins;
 * UPDATE_BEFORE rows are skipped, DELETE rows delete), then sent as UNLOGGED batches of rows that share a
 * partition where they can, asynchronously with a bound on requests in flight. The buffer is flushed every
 * {@code flushMs} on the task's own timer, when it holds {@code batchRows * maxInFlight} rows, and before every
 * checkpoint barrier, which also waits for every request in flight: a checkpoint completes only once everything
 * before it is in Cassandra (at-least-once; upserts keyed by event make a replay rewrite the same rows). A
 * batch that times out on a busy node is sent again with the timestamp of its first send (at most
 * {@code MAX_ATTEMPTS} sends) rather than failing the job, whose restart would replay a checkpoint interval.
 *
 * <p>Built from Python (streaming/job.py): the CQL statements, the key columns and the sizes come from the
 * table registry and settings, so this class knows no table.
 */
public class UpsertSink extends RichSinkFunction<RowData> implements CheckpointedFunction {
    private static final long serialVersionUID = 1L;
    /** Sends of one batch before a timeout fails the task (and the job restarts from its last checkpoint). */
    private static final int MAX_ATTEMPTS = 4;

    private final String contactPoints;
    private final int port;
    private final String upsertCql;
    private final String deleteCql;
    private final int[] keyFields;
    private final int partitionFields;
    private final LogicalType[] types;
    private final int batchRows;
    private final int maxInFlight;
    private final long flushMs;

    private transient Cluster cluster;
    private transient Session session;
    private transient TimestampGenerator clock;
    private transient PreparedStatement upsert;
    private transient PreparedStatement delete;
    private transient Map<List<Object>, Pending> buffer;
    private transient Semaphore inFlight;
    private transient AtomicReference<Throwable> failure;
    private transient ProcessingTimeService timers;
    private transient RowData.FieldGetter[] fields;
    private transient ToCql[] converters;
    private transient ProtocolVersion protocol;
    /** The codec of each bind variable of the upsert, and of the delete (its key), looked up once. */
    private transient TypeCodec<Object>[] upsertCodecs;
    private transient TypeCodec<Object>[] deleteCodecs;

    /**
     * @param upsertCql   INSERT binding every field of the row, in order
     * @param deleteCql   DELETE binding the key fields in order, or null when the changelog has no deletes
     * @param keyFields   positions of the primary-key fields in the row
     * @param partitionFields how many of keyFields form the partition key (batches group rows by it)
     * @param types       the SQL type of each field of the row, in order
     */
    public UpsertSink(String contactPoints, int port, String upsertCql, String deleteCql, int[] keyFields,
                      int partitionFields, LogicalType[] types, int batchRows, int maxInFlight, long flushMs) {
        this.contactPoints = contactPoints;
        this.port = port;
        this.upsertCql = upsertCql;
        this.deleteCql = deleteCql;
        this.keyFields = keyFields;
        this.partitionFields = partitionFields;
        this.types = types;
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
        clock = cluster.getConfiguration().getPolicies().getTimestampGenerator();
        upsert = session.prepare(upsertCql);
        delete = deleteCql == null ? null : session.prepare(deleteCql);
        buffer = new LinkedHashMap<>();
        inFlight = new Semaphore(maxInFlight);
        failure = new AtomicReference<>();
        timers = ((StreamingRuntimeContext) getRuntimeContext()).getProcessingTimeService();
        fields = new RowData.FieldGetter[types.length];
        converters = new ToCql[types.length];
        for (int i = 0; i < types.length; i++) {   // per field, once: no type switch per row
            fields[i] = RowData.createFieldGetter(types[i], i);
            converters[i] = toCql(types[i]);
        }
        protocol = cluster.getConfiguration().getProtocolOptions().getProtocolVersion();
        upsertCodecs = codecs(upsert);
        deleteCodecs = delete == null ? null : codecs(delete);
        scheduleFlush();
    }

    /**
     * The registry's codec of each bind variable, for the Java value {@link #toCql} gives its field (the
     * driver's default for the CQL type). Values are serialized with it directly: the typed setters looked the
     * codec up in the registry on every bind.
     */
    @SuppressWarnings("unchecked")
    private TypeCodec<Object>[] codecs(PreparedStatement statement) {
        CodecRegistry registry = cluster.getConfiguration().getCodecRegistry();
        ColumnDefinitions variables = statement.getVariables();
        TypeCodec<Object>[] codecs = new TypeCodec[variables.size()];
        for (int i = 0; i < codecs.length; i++) {
            codecs[i] = registry.codecFor(variables.getType(i));
        }
        return codecs;
    }

    private void scheduleFlush() {
        timers.registerTimer(timers.getCurrentProcessingTime() + flushMs, time -> {
            flush();
            scheduleFlush();
        });
    }

    /** A row waiting for a flush: its values as the driver takes them, and whether it deletes its key. */
    private static final class Pending {
        final Object[] values;
        final boolean delete;

        Pending(Object[] values, boolean delete) {
            this.values = values;
            this.delete = delete;
        }
    }

    @Override
    public void invoke(RowData row, Context context) throws Exception {
        rethrow();
        if (row.getRowKind() == RowKind.UPDATE_BEFORE) {
            return;
        }
        Object[] values = new Object[types.length];
        for (int i = 0; i < types.length; i++) {
            Object field = fields[i].getFieldOrNull(row);
            values[i] = field == null ? null : converters[i].apply(field);
        }
        Object[] key = new Object[keyFields.length];
        for (int i = 0; i < keyFields.length; i++) {
            key[i] = values[keyFields[i]];
        }
        buffer.put(Arrays.asList(key), new Pending(values, row.getRowKind() == RowKind.DELETE));
        if (buffer.size() >= batchRows * maxInFlight) {
            flush();
        }
    }

    /** A field of a row, in Flink's internal format, as the driver takes it (not null). */
    private interface ToCql {
        Object apply(Object internal);
    }

    /** Text becomes String, timestamps Date, arrays lists and maps maps of converted elements; numbers stay. */
    private static ToCql toCql(LogicalType type) {
        switch (type.getTypeRoot()) {
            case CHAR: case VARCHAR: return value -> value.toString();
            case TIMESTAMP_WITHOUT_TIME_ZONE: case TIMESTAMP_WITH_LOCAL_TIME_ZONE:
                return value -> new Date(((TimestampData) value).getMillisecond());
            case ARRAY: {
                LogicalType elementType = ((ArrayType) type).getElementType();
                ArrayData.ElementGetter get = ArrayData.createElementGetter(elementType);
                ToCql element = toCql(elementType);
                return value -> {
                    ArrayData array = (ArrayData) value;
                    List<Object> list = new ArrayList<>(array.size());
                    for (int i = 0; i < array.size(); i++) {
                        Object e = get.getElementOrNull(array, i);
                        list.add(e == null ? null : element.apply(e));
                    }
                    return list;
                };
            }
            case MAP: {
                MapType mapType = (MapType) type;
                ArrayData.ElementGetter getKey = ArrayData.createElementGetter(mapType.getKeyType());
                ArrayData.ElementGetter getValue = ArrayData.createElementGetter(mapType.getValueType());
                ToCql key = toCql(mapType.getKeyType());
                ToCql element = toCql(mapType.getValueType());
                return value -> {
                    MapData map = (MapData) value;
                    Map<Object, Object> out = new HashMap<>();
                    for (int i = 0; i < map.size(); i++) {
                        Object v = getValue.getElementOrNull(map.valueArray(), i);
                        out.put(key.apply(getKey.getElementOrNull(map.keyArray(), i)), v == null ? null : element.apply(v));
                    }
                    return out;
                };
            }
            case BOOLEAN: case INTEGER: case BIGINT: case DOUBLE: case FLOAT: return value -> value;
            default: throw new IllegalArgumentException("no Cassandra value for SQL type " + type);
        }
    }

    /** Send the buffer: rows of one partition together, small partitions packed up to batchRows a batch. */
    private void flush() throws Exception {
        rethrow();
        if (buffer.isEmpty()) {
            return;
        }
        Map<List<Object>, List<Pending>> partitions = new LinkedHashMap<>();
        for (Map.Entry<List<Object>, Pending> e : buffer.entrySet()) {
            partitions.computeIfAbsent(e.getKey().subList(0, partitionFields), k -> new ArrayList<>()).add(e.getValue());
        }
        buffer = new LinkedHashMap<>();
        BatchStatement batch = new BatchStatement(BatchStatement.Type.UNLOGGED);
        for (List<Pending> rows : partitions.values()) {
            if (batch.size() > 0 && batch.size() + rows.size() > batchRows) {
                send(batch);
                batch = new BatchStatement(BatchStatement.Type.UNLOGGED);
            }
            for (Pending row : rows) {
                batch.add(row.delete ? bindKey(row.values) : bindAll(row.values));
            }
        }
        if (batch.size() > 0) {
            send(batch);
        }
    }

    private BoundStatement bindAll(Object[] values) {
        BoundStatement statement = upsert.bind();
        for (int i = 0; i < values.length; i++) {
            set(statement, i, values[i], upsertCodecs[i]);
        }
        return statement;
    }

    private void set(BoundStatement statement, int i, Object value, TypeCodec<Object> codec) {
        if (value == null) {
            statement.setToNull(i);
        } else {
            statement.setBytesUnsafe(i, codec.serialize(value, protocol));
        }
    }

    private BoundStatement bindKey(Object[] values) {
        if (delete == null) {
            throw new IllegalStateException("a DELETE row reached a sink without a delete statement: "
                    + Arrays.toString(values));
        }
        BoundStatement statement = delete.bind();
        for (int i = 0; i < keyFields.length; i++) {
            set(statement, i, values[keyFields[i]], deleteCodecs[i]);
        }
        return statement;
    }

    private void send(BatchStatement batch) throws InterruptedException {
        inFlight.acquire();
        // The write's time is fixed here, once: a retry keeps it, so a later flush of the same key (a later
        // timestamp) wins whichever of the two Cassandra applies last.
        batch.setDefaultTimestamp(clock.next());
        execute(batch, 1);
    }

    private void execute(BatchStatement batch, int attempt) {
        ResultSetFuture future = session.executeAsync(batch);
        Futures.addCallback(future, new FutureCallback<ResultSet>() {
            @Override
            public void onSuccess(ResultSet result) {
                inFlight.release();
            }

            @Override
            public void onFailure(Throwable t) {
                if (attempt < MAX_ATTEMPTS && retryable(t)) {   // an upsert of absolute values: safe to repeat
                    execute(batch, attempt + 1);
                    return;
                }
                failure.compareAndSet(null, t);
                inFlight.release();
            }
        }, MoreExecutors.directExecutor());
    }

    /** A busy node's answers (it did not apply the write in time, or refused it): worth sending again. */
    private static boolean retryable(Throwable t) {
        return t instanceof WriteTimeoutException || t instanceof OperationTimedOutException
                || t instanceof OverloadedException;
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
