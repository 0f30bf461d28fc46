package animerec.flink;

import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.ConfigOptions;
import org.apache.flink.configuration.ReadableConfig;
import org.apache.flink.table.catalog.ResolvedSchema;
import org.apache.flink.table.connector.ChangelogMode;
import org.apache.flink.table.connector.sink.DynamicTableSink;
import org.apache.flink.table.connector.sink.SinkFunctionProvider;
import org.apache.flink.table.factories.DynamicTableSinkFactory;
import org.apache.flink.table.factories.FactoryUtil;
import org.apache.flink.table.types.logical.LogicalType;
import org.apache.flink.table.types.logical.RowType;

import java.util.List;
import java.util.Set;

/**
 * The table connector {@code animerec-cassandra}: a SQL {@code INSERT INTO} a table of it writes the query's
 * rows with {@link UpsertSink}, in Flink's internal row format (no conversion to {@code Row} on the way).
 *
 * <p>The table's primary key is the Cassandra key the sink coalesces rows by (in the order the delete
 * statement binds them); the sink takes upserts (no UPDATE_BEFORE rows are produced for it). Options name the
 * cluster, the statements and the batching; streaming/job.py declares one such table per query, from the
 * sink registry (store/cassandra/sinks.py).
 */
public class UpsertSinkFactory implements DynamicTableSinkFactory {
    public static final String IDENTIFIER = "animerec-cassandra";

    public static final ConfigOption<String> HOSTS = ConfigOptions.key("hosts").stringType().noDefaultValue()
            .withDescription("Cassandra contact points, comma-separated");
    public static final ConfigOption<Integer> PORT = ConfigOptions.key("port").intType().defaultValue(9042);
    public static final ConfigOption<String> UPSERT = ConfigOptions.key("upsert").stringType().noDefaultValue()
            .withDescription("the statement binding every field of a row, in order");
    public static final ConfigOption<String> DELETE = ConfigOptions.key("delete").stringType().noDefaultValue()
            .withDescription("the statement binding the key fields of a DELETE row, in order (absent: none come)");
    public static final ConfigOption<Integer> PARTITION_FIELDS = ConfigOptions.key("partition-fields").intType()
            .defaultValue(1).withDescription("how many of the primary key's columns form the partition key");
    public static final ConfigOption<Integer> BATCH_ROWS = ConfigOptions.key("batch-rows").intType().defaultValue(100);
    public static final ConfigOption<Integer> IN_FLIGHT = ConfigOptions.key("in-flight").intType().defaultValue(16);
    public static final ConfigOption<Long> FLUSH_MS = ConfigOptions.key("flush-ms").longType().defaultValue(100L);

    @Override
    public String factoryIdentifier() {
        return IDENTIFIER;
    }

    @Override
    public Set<ConfigOption<?>> requiredOptions() {
        return Set.of(HOSTS, UPSERT);
    }

    @Override
    public Set<ConfigOption<?>> optionalOptions() {
        return Set.of(PORT, DELETE, PARTITION_FIELDS, BATCH_ROWS, IN_FLIGHT, FLUSH_MS);
    }

    @Override
    public DynamicTableSink createDynamicTableSink(Context context) {
        FactoryUtil.TableFactoryHelper helper = FactoryUtil.createTableFactoryHelper(this, context);
        helper.validate();
        ReadableConfig options = helper.getOptions();
        ResolvedSchema schema = context.getCatalogTable().getResolvedSchema();
        int[] key = schema.getPrimaryKeyIndexes();
        if (key.length == 0) {
            throw new IllegalArgumentException("a table of connector " + IDENTIFIER + " needs a PRIMARY KEY "
                    + "(the Cassandra key its rows are coalesced by): " + context.getObjectIdentifier());
        }
        List<LogicalType> fields = ((RowType) context.getPhysicalRowDataType().getLogicalType()).getChildren();
        return new Table(new UpsertSink(options.get(HOSTS), options.get(PORT), options.get(UPSERT),
                options.getOptional(DELETE).orElse(null), key, options.get(PARTITION_FIELDS),
                fields.toArray(new LogicalType[0]), options.get(BATCH_ROWS), options.get(IN_FLIGHT),
                options.get(FLUSH_MS)));
    }

    /** One table's sink: an upsert changelog into (a copy of) the configured {@link UpsertSink}. */
    private static final class Table implements DynamicTableSink {
        private final UpsertSink sink;

        Table(UpsertSink sink) {
            this.sink = sink;
        }

        @Override
        public ChangelogMode getChangelogMode(ChangelogMode requested) {
            return ChangelogMode.upsert();
        }

        @Override
        public SinkRuntimeProvider getSinkRuntimeProvider(Context context) {
            return SinkFunctionProvider.of(sink);
        }

        @Override
        public DynamicTableSink copy() {
            return new Table(sink);
        }

        @Override
        public String asSummaryString() {
            return IDENTIFIER;
        }
    }
}
