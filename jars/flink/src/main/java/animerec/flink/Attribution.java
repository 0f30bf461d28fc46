package animerec.flink;

import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.java.functions.KeySelector;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.functions.co.KeyedCoProcessFunction;
import org.apache.flink.table.data.GenericRowData;
import org.apache.flink.table.data.RowData;
import org.apache.flink.table.data.StringData;
import org.apache.flink.table.runtime.typeutils.ExternalTypeInfo;
import org.apache.flink.table.runtime.typeutils.InternalTypeInfo;
import org.apache.flink.table.types.utils.TypeConversions;
import org.apache.flink.table.types.logical.BigIntType;
import org.apache.flink.table.types.logical.IntType;
import org.apache.flink.table.types.logical.LogicalType;
import org.apache.flink.table.types.logical.RowType;
import org.apache.flink.table.types.logical.VarCharType;
import org.apache.flink.util.Collector;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * The attribution pairing of the experiments: a click, view or rating of a title in a list served to the same
 * user, within {@code windowMs} after the serving (event time). One row per pairing:
 * {@code (event_id, kind, request_id, experiment_id, variant, position, bucket, served_ms)}; which pairing
 * counts (the latest list before the event) is decided downstream, in SQL.
 *
 * <p>A keyed co-process on the user, in place of a SQL join on (user, title) whose state had a TTL: the heap
 * backend's incremental TTL cleanup ran on every access and was most of the join's CPU. Here each user's
 * state is one object: the titles of the lists served to them, kept {@code keepMs} after they arrive, and the
 * user's events, kept {@code skewMs} after they arrive (the read skew between the two topics: an event's list
 * was served, so published, before it). Expiry is by processing time, checked on access and by one coarse
 * timer per user, so a user who goes quiet leaves no state behind.
 *
 * <p>Inputs, by column name (checked): events {@code (event_id, kind, user_id, anime_id, ts_ms)} and served
 * titles {@code (request_id, user_id, experiment_id, variant, ts_ms, bucket, anime_id, position)}.
 */
public class Attribution extends KeyedCoProcessFunction<Integer, RowData, RowData, RowData> {
    private static final long serialVersionUID = 1L;

    static final List<String> EVENT_COLUMNS = Arrays.asList("event_id", "kind", "user_id", "anime_id", "ts_ms");
    static final List<String> SERVED_COLUMNS = Arrays.asList(
            "request_id", "user_id", "experiment_id", "variant", "ts_ms", "bucket", "anime_id", "position");
    static final RowType OUTPUT = RowType.of(
            new LogicalType[] {new VarCharType(VarCharType.MAX_LENGTH), new VarCharType(VarCharType.MAX_LENGTH),
                    new VarCharType(VarCharType.MAX_LENGTH), new VarCharType(VarCharType.MAX_LENGTH),
                    new VarCharType(VarCharType.MAX_LENGTH), new IntType(), new BigIntType(), new BigIntType()},
            new String[] {"event_id", "kind", "request_id", "experiment_id", "variant", "position", "bucket",
                    "served_ms"});
    /** Expiry timers are rounded up to this, so a busy user has at most one pending. */
    static final long TIMER_GRAIN_MS = 10_000;

    private final long windowMs;
    private final long skewMs;
    private final long keepMs;
    private transient ValueState<Pending> state;

    public Attribution(long windowMs, long skewMs, long keepMs) {
        this.windowMs = windowMs;
        this.skewMs = skewMs;
        this.keepMs = keepMs;
    }

    /** The pairings of {@code events} with {@code served}, keyed by user (see the class comment for columns). */
    public static DataStream<RowData> attribute(DataStream<RowData> events, DataStream<RowData> served,
                                                long windowMs, long skewMs, long keepMs) {
        check(events, EVENT_COLUMNS);
        check(served, SERVED_COLUMNS);
        return events.connect(served)
                .keyBy(new IntField(EVENT_COLUMNS.indexOf("user_id")), new IntField(SERVED_COLUMNS.indexOf("user_id")))
                .process(new Attribution(windowMs, skewMs, keepMs),
                        ExternalTypeInfo.of(TypeConversions.fromLogicalToDataType(OUTPUT).bridgedTo(RowData.class)))
                .name("Attribution");
    }

    private static void check(DataStream<RowData> stream, List<String> columns) {
        TypeInformation<RowData> type = stream.getType();
        LogicalType row = type instanceof ExternalTypeInfo ? ((ExternalTypeInfo<RowData>) type).getDataType().getLogicalType()
                : type instanceof InternalTypeInfo ? ((InternalTypeInfo<RowData>) type).toLogicalType() : null;
        List<String> names = row instanceof RowType ? ((RowType) row).getFieldNames() : null;
        if (!columns.equals(names)) {
            throw new IllegalArgumentException("attribution input has columns " + names + ", expected " + columns);
        }
    }

    /** The key of a row: its INT field at {@code index}. */
    static final class IntField implements KeySelector<RowData, Integer> {
        private static final long serialVersionUID = 1L;
        private final int index;

        IntField(int index) {
            this.index = index;
        }

        @Override
        public Integer getKey(RowData row) {
            return row.getInt(index);
        }
    }

    /** A title of a served list, as it waits for the user's events. */
    public static final class Served {
        public String requestId;
        public String experimentId;
        public String variant;
        public int position;
        public long bucket;
        public long servedMs;
        public long arrivedMs;
    }

    /** An event, as it waits for a list read late. */
    public static final class Event {
        public String eventId;
        public String kind;
        public int animeId;
        public long tsMs;
        public long arrivedMs;
    }

    /** One user's state: served titles by title, events in arrival order, and the expiry timer pending (0: none). */
    public static final class Pending {
        public HashMap<Integer, ArrayList<Served>> served = new HashMap<>();
        public ArrayDeque<Event> events = new ArrayDeque<>();
        public long timerMs;
    }

    @Override
    public void open(Configuration parameters) {
        state = getRuntimeContext().getState(new ValueStateDescriptor<>("attribution", Types.GENERIC(Pending.class)));
    }

    @Override
    public void processElement1(RowData row, Context ctx, Collector<RowData> out) throws Exception {
        long now = ctx.timerService().currentProcessingTime();
        Pending pending = current();
        Event event = new Event();
        event.eventId = row.getString(0).toString();
        event.kind = row.getString(1).toString();
        event.animeId = row.getInt(3);
        event.tsMs = row.getLong(4);
        event.arrivedMs = now;
        List<Served> titles = pending.served.get(event.animeId);
        if (titles != null) {
            for (Served served : titles) {
                if (served.arrivedMs + keepMs > now) {
                    pair(event, served, out);
                }
            }
        }
        expireEvents(pending, now);
        pending.events.addLast(event);
        keep(pending, ctx, now + skewMs);
    }

    @Override
    public void processElement2(RowData row, Context ctx, Collector<RowData> out) throws Exception {
        long now = ctx.timerService().currentProcessingTime();
        Pending pending = current();
        Served served = new Served();
        served.requestId = row.getString(0).toString();
        served.experimentId = row.getString(2).toString();
        served.variant = row.getString(3).toString();
        served.servedMs = row.getLong(4);
        served.bucket = row.getLong(5);
        int animeId = row.getInt(6);
        served.position = row.getInt(7);
        served.arrivedMs = now;
        expireEvents(pending, now);
        for (Event event : pending.events) {
            if (event.animeId == animeId) {
                pair(event, served, out);
            }
        }
        pending.served.computeIfAbsent(animeId, k -> new ArrayList<>(1)).add(served);
        keep(pending, ctx, now + keepMs);
    }

    private Pending current() throws Exception {
        Pending pending = state.value();
        return pending == null ? new Pending() : pending;
    }

    private void pair(Event event, Served served, Collector<RowData> out) {
        if (event.tsMs >= served.servedMs && event.tsMs < served.servedMs + windowMs) {
            out.collect(GenericRowData.of(StringData.fromString(event.eventId), StringData.fromString(event.kind),
                    StringData.fromString(served.requestId), StringData.fromString(served.experimentId),
                    StringData.fromString(served.variant), served.position, served.bucket, served.servedMs));
        }
    }

    private void expireEvents(Pending pending, long now) {
        while (!pending.events.isEmpty() && pending.events.peekFirst().arrivedMs + skewMs <= now) {
            pending.events.removeFirst();
        }
    }

    /** Store the user's state and make sure a timer will look at it again once {@code expiresMs} has passed. */
    private void keep(Pending pending, Context ctx, long expiresMs) throws Exception {
        if (pending.timerMs == 0) {
            pending.timerMs = roundUp(expiresMs);
            ctx.timerService().registerProcessingTimeTimer(pending.timerMs);
        }
        state.update(pending);
    }

    private static long roundUp(long ms) {
        return (ms / TIMER_GRAIN_MS + 1) * TIMER_GRAIN_MS;
    }

    @Override
    public void onTimer(long timestamp, OnTimerContext ctx, Collector<RowData> out) throws Exception {
        Pending pending = state.value();
        if (pending == null || timestamp != pending.timerMs) {
            return;
        }
        expireEvents(pending, timestamp);
        long next = pending.events.isEmpty() ? Long.MAX_VALUE : pending.events.peekFirst().arrivedMs + skewMs;
        Iterator<Map.Entry<Integer, ArrayList<Served>>> titles = pending.served.entrySet().iterator();
        while (titles.hasNext()) {
            ArrayList<Served> lists = titles.next().getValue();
            lists.removeIf(served -> served.arrivedMs + keepMs <= timestamp);
            if (lists.isEmpty()) {
                titles.remove();
            }
            for (Served served : lists) {
                next = Math.min(next, served.arrivedMs + keepMs);
            }
        }
        if (next == Long.MAX_VALUE) {
            state.clear();
            return;
        }
        pending.timerMs = roundUp(next);
        ctx.timerService().registerProcessingTimeTimer(pending.timerMs);
        state.update(pending);
    }
}
