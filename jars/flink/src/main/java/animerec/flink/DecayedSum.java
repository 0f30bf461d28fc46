package animerec.flink;

import org.apache.flink.table.annotation.DataTypeHint;
import org.apache.flink.table.annotation.FunctionHint;
import org.apache.flink.table.data.GenericMapData;
import org.apache.flink.table.data.MapData;
import org.apache.flink.table.data.StringData;
import org.apache.flink.table.functions.AggregateFunction;

import java.util.HashMap;
import java.util.Map;

/**
 * {@code DECAYED_SUM(keys, ts_ms, anchor_ms, half_life_ms)}: per key (a genre of the event's title), the sum
 * over the group's events of the forward-decay weight {@code 2^((ts_ms - anchor_ms) / half_life_ms)}, as one
 * map: a user's genre affinity, where a recent event weighs more than an old one and the ratio of two
 * genres' weights is what decay would give at any later moment. A key new to the catalog is simply a new
 * entry. The pure-Python definition is {@code streaming.definitions.decay_weight} / {@code user_rows}.
 *
 * <p>The value is built in Flink's internal format (no conversion by the planner) and kept with the accumulator
 * until the next change: a mini-batch aggregate asks for it before and after each bundle, to compare them.
 */
@FunctionHint(accumulator = @DataTypeHint(value = "RAW", bridgedTo = DecayedSum.Acc.class),
              output = @DataTypeHint(value = "MAP<STRING, DOUBLE>", bridgedTo = MapData.class))
public class DecayedSum extends AggregateFunction<MapData, DecayedSum.Acc> {
    private static final long serialVersionUID = 1L;

    public static class Acc {
        public Map<String, Double> sums = new HashMap<>();
        /** The value as of the last change (not state: rebuilt after a restore). */
        public transient MapData value;
    }

    @Override
    public Acc createAccumulator() {
        return new Acc();
    }

    public void accumulate(Acc acc, String[] keys, Long tsMs, Long anchorMs, Long halfLifeMs) {
        if (keys == null || tsMs == null) {
            return;
        }
        acc.value = null;
        double weight = Math.pow(2.0, (double) (tsMs - anchorMs) / (double) halfLifeMs);
        for (String key : keys) {
            if (key != null) {
                acc.sums.merge(key, weight, Double::sum);
            }
        }
    }

    @Override
    public MapData getValue(Acc acc) {
        if (acc.value == null) {
            Map<StringData, Double> sums = new HashMap<>(acc.sums.size() * 2);
            for (Map.Entry<String, Double> e : acc.sums.entrySet()) {
                sums.put(StringData.fromString(e.getKey()), e.getValue());
            }
            acc.value = new GenericMapData(sums);
        }
        return acc.value;
    }
}
