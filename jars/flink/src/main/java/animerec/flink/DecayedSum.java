package animerec.flink;

import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.core.io.JsonStringEncoder;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.core.io.NumberOutput;
import org.apache.flink.table.annotation.DataTypeHint;
import org.apache.flink.table.annotation.FunctionHint;
import org.apache.flink.table.data.StringData;
import org.apache.flink.table.functions.AggregateFunction;

import java.util.HashMap;
import java.util.Map;

/**
 * {@code DECAYED_SUM(keys, ts_ms, anchor_ms, half_life_ms)}: per key (a genre of the event's title), the sum
 * over the group's events of the forward-decay weight {@code 2^((ts_ms - anchor_ms) / half_life_ms)}, as JSON
 * text (an object, key to sum; {@code user_features.genre_weights}: one text value, because Cassandra decodes
 * every entry of a bound map and the sink converted each one): a user's genre affinity, where a recent event
 * weighs more than an old one and the ratio of two genres' weights is what decay would give at any later
 * moment. A key new to the catalog is simply a new entry. The pure-Python definition is
 * {@code streaming.definitions.decay_weight} / {@code user_rows}.
 *
 * <p>The value is built in Flink's internal format (no conversion by the planner) and kept with the accumulator
 * until the next change: a mini-batch aggregate asks for it before and after each bundle, to compare them.
 */
@FunctionHint(accumulator = @DataTypeHint(value = "RAW", bridgedTo = DecayedSum.Acc.class),
              output = @DataTypeHint(value = "STRING", bridgedTo = StringData.class))
public class DecayedSum extends AggregateFunction<StringData, DecayedSum.Acc> {
    private static final long serialVersionUID = 1L;

    public static class Acc {
        public Map<String, Double> sums = new HashMap<>();
        /** The value as of the last change (not state: rebuilt after a restore). */
        public transient StringData value;
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
    public StringData getValue(Acc acc) {
        if (acc.value == null) {
            JsonStringEncoder quote = JsonStringEncoder.getInstance();
            StringBuilder json = new StringBuilder(32 * acc.sums.size() + 2).append('{');
            for (Map.Entry<String, Double> e : acc.sums.entrySet()) {
                json.append(json.length() == 1 ? "\"" : ",\"").append(quote.quoteAsString(e.getKey())).append("\":")
                        // Shortest round-trip digits (Schubfach); Java 17's Double.toString takes big-integer
                        // arithmetic for these large weights and was a third of the user aggregate's thread.
                        // Finite while ts is within ~1,000 half-lives of the anchor.
                        .append(NumberOutput.toString(e.getValue(), true));
            }
            acc.value = StringData.fromString(json.append('}').toString());
        }
        return acc.value;
    }
}
