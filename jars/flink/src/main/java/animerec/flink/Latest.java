package animerec.flink;

import org.apache.flink.table.annotation.DataTypeHint;
import org.apache.flink.table.annotation.FunctionHint;
import org.apache.flink.table.functions.AggregateFunction;
import org.apache.flink.types.Row;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code LATEST(anime_id, kind, ts_ms, event_id, n)}: the group's {@code n} newest events, newest first
 * (by time, then by event id for events of the same millisecond), as
 * {@code ROW<event_ids ARRAY<STRING>, anime_ids ARRAY<INT>, kinds ARRAY<STRING>, times ARRAY<TIMESTAMP_LTZ(3)>>}: a user's recent titles.
 * An event older than the n kept ones is dropped at once, so the state per group is n events.
 * The pure-Python definition is {@code streaming.definitions.user_rows} ({@code recent}).
 */
@FunctionHint(accumulator = @DataTypeHint(value = "RAW", bridgedTo = Latest.Acc.class),
              output = @DataTypeHint("ROW<event_ids ARRAY<STRING>, anime_ids ARRAY<INT>, kinds ARRAY<STRING>, times ARRAY<TIMESTAMP_LTZ(3)>>"))
public class Latest extends AggregateFunction<Row, Latest.Acc> {
    private static final long serialVersionUID = 1L;

    /** Oldest first: parallel lists, ordered by (ts, event id descending). */
    public static class Acc {
        public List<Long> at = new ArrayList<>();
        public List<String> ids = new ArrayList<>();
        public List<Integer> titles = new ArrayList<>();
        public List<String> kinds = new ArrayList<>();
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
    public Row getValue(Acc acc) {
        int size = acc.at.size();
        String[] ids = new String[size];
        Integer[] titles = new Integer[size];
        String[] kinds = new String[size];
        Instant[] at = new Instant[size];
        for (int i = 0; i < size; i++) {
            int j = size - 1 - i;
            ids[i] = acc.ids.get(j);
            titles[i] = acc.titles.get(j);
            kinds[i] = acc.kinds.get(j);
            at[i] = Instant.ofEpochMilli(acc.at.get(j));
        }
        return Row.of(ids, titles, kinds, at);
    }
}
