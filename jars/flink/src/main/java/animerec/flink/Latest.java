package animerec.flink;

import org.apache.flink.table.annotation.DataTypeHint;
import org.apache.flink.table.annotation.FunctionHint;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.core.io.JsonStringEncoder;
import org.apache.flink.table.data.StringData;
import org.apache.flink.table.functions.AggregateFunction;

import java.util.ArrayList;
import java.util.List;

/**
 * {@code LATEST(anime_id, kind, ts_ms, event_id, n)}: the group's {@code n} newest events, newest first
 * (by time, then by event id for events of the same millisecond), as JSON text: a list of
 * {@code [event_id, anime_id, kind, ts_ms]}, a user's recent titles ({@code user_features.recent}; one text
 * value because Cassandra decodes every element of a bound collection).
 * An event older than the n kept ones is dropped at once, so the state per group is n events.
 * The pure-Python definition is {@code streaming.definitions.user_rows} ({@code recent}).
 *
 * <p>The value is built as Flink's internal string (no conversion by the planner) and kept with the accumulator
 * until the next change: a mini-batch aggregate asks for it before and after each bundle, to compare them.
 */
@FunctionHint(accumulator = @DataTypeHint(value = "RAW", bridgedTo = Latest.Acc.class),
              output = @DataTypeHint(value = "STRING", bridgedTo = StringData.class))
public class Latest extends AggregateFunction<StringData, Latest.Acc> {
    private static final long serialVersionUID = 1L;

    /** Oldest first: parallel lists, ordered by (ts, event id descending). */
    public static class Acc {
        public List<Long> at = new ArrayList<>();
        public List<String> ids = new ArrayList<>();
        public List<Integer> titles = new ArrayList<>();
        public List<String> kinds = new ArrayList<>();
        /** The value as of the last change (not state: rebuilt after a restore). */
        public transient StringData value;
    }

    @Override
    public Acc createAccumulator() {
        return new Acc();
    }

    public void accumulate(Acc acc, Integer animeId, String kind, Long tsMs, String eventId, Integer n) {
        if (tsMs == null || eventId == null) {
            return;
        }
        int i = acc.at.size();   // events mostly arrive in time order: search from the newest end
        while (i > 0 && newer(acc.at.get(i - 1), acc.ids.get(i - 1), tsMs, eventId)) {
            i--;
        }
        if (acc.at.size() >= n && i == 0) {
            return;  // older than every kept event
        }
        acc.value = null;
        acc.at.add(i, tsMs);
        acc.ids.add(i, eventId);
        acc.titles.add(i, animeId);
        acc.kinds.add(i, kind);
        while (acc.at.size() > n) {
            acc.at.remove(0);
            acc.ids.remove(0);
            acc.titles.remove(0);
            acc.kinds.remove(0);
        }
    }

    /** Whether event (ts, id) comes after event (otherTs, otherId) in newest-last order. */
    private static boolean newer(long ts, String id, long otherTs, String otherId) {
        return ts > otherTs || (ts == otherTs && id.compareTo(otherId) < 0);
    }

    @Override
    public StringData getValue(Acc acc) {
        if (acc.value == null) {
            JsonStringEncoder quote = JsonStringEncoder.getInstance();
            StringBuilder json = new StringBuilder(64 * acc.at.size() + 2).append('[');
            for (int j = acc.at.size() - 1; j >= 0; j--) {
                json.append(j == acc.at.size() - 1 ? "[\"" : ",[\"").append(quote.quoteAsString(acc.ids.get(j)))
                        .append("\",").append(acc.titles.get(j)).append(",\"")
                        .append(quote.quoteAsString(acc.kinds.get(j))).append("\",").append(acc.at.get(j)).append(']');
            }
            acc.value = StringData.fromString(json.append(']').toString());
        }
        return acc.value;
    }
}
