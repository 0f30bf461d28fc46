package animerec.flink;

import org.apache.flink.table.annotation.DataTypeHint;
import org.apache.flink.table.annotation.FunctionHint;
import org.apache.flink.table.functions.AggregateFunction;

/**
 * {@code SLIDING_COUNT(ts_ms, weight, buckets, bucket_ms)}: the sum of {@code weight} over the events of a
 * group whose time bucket ({@code floor(ts_ms / bucket_ms)}) lies within the last {@code buckets} buckets
 * up to the group's latest event: a sliding window of {@code buckets * bucket_ms} as of that event, advanced
 * in steps of one bucket.
 *
 * <p>O(1) per event: a ring of per-bucket sums; moving the latest bucket forward clears the buckets it
 * passes. The result does not depend on the order events arrive in (an event older than the window when
 * it arrives is not counted, and it would have left the window by now anyway). The pure-Python definition
 * the integration test compares with is {@code streaming.definitions.sliding_count}.
 */
@FunctionHint(accumulator = @DataTypeHint(value = "RAW", bridgedTo = SlidingCount.Acc.class))
public class SlidingCount extends AggregateFunction<Long, SlidingCount.Acc> {
    private static final long serialVersionUID = 1L;

    /** Per-bucket sums, indexed by bucket modulo their number; {@code latest} is the newest bucket seen. */
    public static class Acc {
        public long latest = Long.MIN_VALUE;
        public long[] sums;
    }

    @Override
    public Acc createAccumulator() {
        return new Acc();
    }

    public void accumulate(Acc acc, Long tsMs, Integer weight, Integer buckets, Long bucketMs) {
        if (tsMs == null) {
            return;
        }
        if (acc.sums == null) {
            acc.sums = new long[buckets];
        }
        long bucket = Math.floorDiv(tsMs, bucketMs);
        if (acc.latest == Long.MIN_VALUE) {
            acc.latest = bucket;
        } else if (bucket > acc.latest) {
            long passed = Math.min(bucket - acc.latest, buckets);
            for (long b = bucket - passed + 1; b <= bucket; b++) {
                acc.sums[(int) Math.floorMod(b, (long) buckets)] = 0;
            }
            acc.latest = bucket;
        } else if (bucket <= acc.latest - buckets) {
            return;  // older than the window
        }
        acc.sums[(int) Math.floorMod(bucket, (long) buckets)] += weight == null ? 0 : weight;
    }

    @Override
    public Long getValue(Acc acc) {
        long total = 0;
        if (acc.sums != null) {
            for (long s : acc.sums) {
                total += s;
            }
        }
        return total;
    }
}
