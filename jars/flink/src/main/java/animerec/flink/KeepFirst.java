package animerec.flink;

import org.apache.flink.api.common.state.ListState;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.java.functions.KeySelector;
import org.apache.flink.api.java.tuple.Tuple2;
import org.apache.flink.runtime.state.FunctionInitializationContext;
import org.apache.flink.runtime.state.FunctionSnapshotContext;
import org.apache.flink.runtime.state.KeyGroupRangeAssignment;
import org.apache.flink.streaming.api.checkpoint.CheckpointedFunction;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.table.data.RowData;
import org.apache.flink.util.Collector;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;

/**
 * Keep-first on a row's id (its first field, a string): a row whose id was seen within the last
 * {@code windowMs} of processing time is dropped (a producer's retry, a replay).
 *
 * <p>In place of SQL's keep-first deduplication, whose per-id keyed state had a TTL: the heap backend's
 * incremental TTL cleanup ran on every access and cost more than the lookup itself. Here the ids seen are one
 * hash map per task, and they expire by processing-time bucket ({@code windowMs / BUCKETS} each): a whole
 * bucket's ids are dropped at once, so an id lives between {@code windowMs} and one bucket longer.
 *
 * <p>Rows are keyed by id first, so each id has one task. The ids are checkpointed as operator state, one
 * list element per bucket and broadcast to every task on restore (union state), where each keeps the ids of
 * its own key groups: the job can restart at another parallelism.
 */
public class KeepFirst extends KeyedProcessFunction<String, RowData, RowData> implements CheckpointedFunction {
    private static final long serialVersionUID = 1L;

    static final int BUCKETS = 6;

    private final long windowMs;
    private final long bucketMs;
    /** Each id seen, with the bucket it was first seen in. */
    private transient HashMap<String, Long> seen;
    /** The ids of each live bucket, oldest first. */
    private transient ArrayDeque<Tuple2<Long, ArrayList<String>>> buckets;
    private transient ListState<Tuple2<Long, String[]>> checkpointed;

    public KeepFirst(long windowMs) {
        this.windowMs = windowMs;
        this.bucketMs = Math.max(1, windowMs / BUCKETS);
    }

    /** The rows of {@code rows} whose id (first field, a string) is new within {@code windowMs}. */
    public static DataStream<RowData> keepFirst(DataStream<RowData> rows, long windowMs) {
        return rows.keyBy(new Id(), Types.STRING)
                .process(new KeepFirst(windowMs), rows.getType())
                .name("KeepFirst");
    }

    /** The key of a row: its first field, a string. */
    static final class Id implements KeySelector<RowData, String> {
        private static final long serialVersionUID = 1L;

        @Override
        public String getKey(RowData row) {
            return row.getString(0).toString();
        }
    }

    @Override
    public void processElement(RowData row, Context ctx, Collector<RowData> out) {
        long bucket = ctx.timerService().currentProcessingTime() / bucketMs;
        expire(bucket);
        if (seen.putIfAbsent(ctx.getCurrentKey(), bucket) == null) {
            current(bucket).add(ctx.getCurrentKey());
            out.collect(row);
        }
    }

    private ArrayList<String> current(long bucket) {
        Tuple2<Long, ArrayList<String>> last = buckets.peekLast();
        if (last == null || last.f0 < bucket) {
            last = Tuple2.of(bucket, new ArrayList<>());
            buckets.addLast(last);
        }
        return last.f1;
    }

    /** Forget the buckets that ended more than the window before {@code bucket} began. */
    private void expire(long bucket) {
        while (!buckets.isEmpty() && buckets.peekFirst().f0 < bucket - BUCKETS) {
            for (String id : buckets.removeFirst().f1) {
                seen.remove(id);
            }
        }
    }

    @Override
    public void snapshotState(FunctionSnapshotContext context) throws Exception {
        checkpointed.clear();
        for (Tuple2<Long, ArrayList<String>> bucket : buckets) {
            checkpointed.add(Tuple2.of(bucket.f0, bucket.f1.toArray(new String[0])));
        }
    }

    @Override
    public void initializeState(FunctionInitializationContext context) throws Exception {
        checkpointed = context.getOperatorStateStore().getUnionListState(new ListStateDescriptor<>(
                "keep-first-ids", Types.TUPLE(Types.LONG, Types.OBJECT_ARRAY(Types.STRING))));
        seen = new HashMap<>();
        buckets = new ArrayDeque<>();
        if (!context.isRestored()) {
            return;
        }
        int maxParallelism = getRuntimeContext().getTaskInfo().getMaxNumberOfParallelSubtasks();
        int parallelism = getRuntimeContext().getTaskInfo().getNumberOfParallelSubtasks();
        int task = getRuntimeContext().getTaskInfo().getIndexOfThisSubtask();
        ArrayList<Tuple2<Long, String[]>> restored = new ArrayList<>();
        for (Tuple2<Long, String[]> bucket : checkpointed.get()) {
            restored.add(bucket);
        }
        restored.sort((a, b) -> Long.compare(a.f0, b.f0));   // several tasks' lists of one bucket merge
        for (Tuple2<Long, String[]> bucket : restored) {
            ArrayList<String> ids = current(bucket.f0);
            for (String id : bucket.f1) {
                if (KeyGroupRangeAssignment.assignKeyToParallelOperator(id, maxParallelism, parallelism) == task
                        && seen.putIfAbsent(id, bucket.f0) == null) {
                    ids.add(id);
                }
            }
        }
    }
}
