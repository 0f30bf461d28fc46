package animerec.flink;

import org.apache.flink.table.annotation.DataTypeHint;
import org.apache.flink.table.annotation.FunctionHint;
import org.apache.flink.table.functions.AggregateFunction;

import java.util.HashMap;
import java.util.Map;

/**
 * {@code DECAYED_SUM(keys, ts_ms, anchor_ms, half_life_ms)}: per key (a genre of the event's title), the sum
 * over the group's events of the forward-decay weight {@code 2^((ts_ms - anchor_ms) / half_life_ms)}, as one
 * map: a user's genre affinity, where a recent event weighs more than an old one and the ratio of two
 * genres' weights is what decay would give at any later moment. A key new to the catalog is simply a new
 * entry. The pure-Python definition is {@code streaming.definitions.decay_weight} / {@code user_rows}.
 */
@FunctionHint(accumulator = @DataTypeHint(value = "RAW", bridgedTo = DecayedSum.Acc.class), output = @DataTypeHint("MAP<STRING, DOUBLE>"))
public class DecayedSum extends AggregateFunction<Map<String, Double>, DecayedSum.Acc> {
    private static final long serialVersionUID = 1L;

    public static class Acc {
        public Map<String, Double> sums = new HashMap<>();
    }

    @Override
    public Acc createAccumulator() {
        return new Acc();
    }

    public void accumulate(Acc acc, String[] keys, Long tsMs, Long anchorMs, Long halfLifeMs) {
        if (keys == null || tsMs == null) {
            return;
        }
        double weight = Math.pow(2.0, (double) (tsMs - anchorMs) / (double) halfLifeMs);
        for (String key : keys) {
            if (key != null) {
                acc.sums.merge(key, weight, Double::sum);
            }
        }
    }

    @Override
    public Map<String, Double> getValue(Acc acc) {
        return new HashMap<>(acc.sums);
    }
}
