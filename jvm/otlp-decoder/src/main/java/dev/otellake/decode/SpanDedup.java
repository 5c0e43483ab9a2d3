package dev.otellake.decode;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.apache.spark.api.java.function.MapFunction;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.streaming.OutputMode;
import org.apache.spark.sql.streaming.StatefulProcessor;
import org.apache.spark.sql.streaming.TTLConfig;
import org.apache.spark.sql.streaming.TimeMode;
import org.apache.spark.sql.streaming.TimerValues;
import org.apache.spark.sql.streaming.ValueState;
import org.apache.spark.sql.types.StructType;
import scala.collection.Iterator;
import scala.jdk.javaapi.CollectionConverters;

/**
 * The streaming dedup of span keys: a span whose key was seen within the window (processing
 * time) is dropped. Units are the rows {@code otellake.transform.dedup} builds; their binary
 * column {@code k} starts with {@link #RECORD} (a Kafka record's coordinates: passed through,
 * never stored) or {@link #TRACE} (a trace id: the unit carries the ordinals {@code idx} and
 * keys {@code spans} of that trace's spans in one record, see {@link SpanKeys#byTrace}).
 *
 * <p>The state is one value per trace: the keys (span id + start, 16 bytes each) of the spans
 * seen, with the window as its time to live, refreshed whenever a batch adds a span to the
 * trace. So a key is remembered at least the window after the batch that stored it (longer
 * while its trace keeps receiving spans), and a batch costs one state lookup per trace it
 * touches, not one per span: with a value per span the state store's TTL bookkeeping (a get
 * and two puts per new key) was the largest cost of the dedup (79% of its task time).
 *
 * <p>Why not Spark's {@code dropDuplicatesWithinWatermark}: its eviction walks every key in the
 * state at every batch (measured: ~5 s of CPU per batch with 1M keys in the state, even for a
 * batch of no records), so its cost grows with the window times the rate. Spark expires TTL
 * values through an index ordered by expiry time, so a batch costs what its own traces cost.
 */
public final class SpanDedup {
  /** First byte of a record unit's key. */
  public static final byte RECORD = 0;
  /** First byte of a trace unit's key. */
  public static final byte TRACE = 1;

  private SpanDedup() {}

  /**
   * The record units of {@code units}, and for each trace unit with a duplicate the ordinals
   * ({@code idx}) of its spans whose key was seen in an earlier batch within {@code
   * windowMillis}, or earlier in this batch (units are taken in Kafka order, so a replayed batch
   * drops the same spans); {@code spans} is null in the output. A trace unit without a duplicate
   * (nearly all of them) yields no row: the batch then has nothing to cut from its record. Needs
   * the RocksDB state store provider.
   */
  public static Dataset<Row> apply(Dataset<Row> units, long windowMillis) {
    StructType schema = units.schema();
    int k = schema.fieldIndex("k");
    MapFunction<Row, byte[]> key = row -> (byte[]) row.get(k);
    return units
        .groupByKey(key, Encoders.BINARY())
        .transformWithState(
            new Processor(windowMillis, new Fields(schema)),
            TimeMode.ProcessingTime(),
            OutputMode.Append(),
            Encoders.row(schema));
  }

  /** Where a unit keeps what the processor reads. */
  static final class Fields implements java.io.Serializable {
    private static final long serialVersionUID = 1L;
    final int partition;
    final int offset;
    final int idx;
    final int spans;

    Fields(StructType schema) {
      partition = schema.fieldIndex("partition");
      offset = schema.fieldIndex("offset");
      idx = schema.fieldIndex("idx");
      spans = schema.fieldIndex("spans");
    }
  }

  /** Keeps, per trace, the spans whose key is not in the trace's state. */
  static final class Processor extends StatefulProcessor<byte[], Row, Row> {
    private static final long serialVersionUID = 1L;
    private static final int KEY = SpanKeys.SPAN_PART_BYTES;
    private final long windowMillis;
    private final Fields f;
    private transient ValueState<byte[]> seen;

    Processor(long windowMillis, Fields fields) {
      this.windowMillis = windowMillis;
      this.f = fields;
    }

    @Override
    public void init(OutputMode outputMode, TimeMode timeMode) {
      seen =
          getHandle()
              .getValueState(
                  "trace_spans", Encoders.BINARY(), new TTLConfig(Duration.ofMillis(windowMillis)));
    }

    @Override
    public Iterator<Row> handleInputRows(byte[] key, Iterator<Row> rows, TimerValues timers) {
      if (key.length > 0 && key[0] == RECORD) {
        return rows; // a record unit: its coordinates are unique
      }
      List<Row> units = new ArrayList<>();
      while (rows.hasNext()) {
        units.add(rows.next());
      }
      units.sort(
          Comparator.<Row>comparingInt(r -> r.getInt(f.partition))
              .thenComparingLong(r -> r.getLong(f.offset)));
      byte[] stored = seen.exists() ? seen.get() : new byte[0];
      Set<ByteBuffer> known = new HashSet<>();
      for (int at = 0; at + KEY <= stored.length; at += KEY) {
        known.add(ByteBuffer.wrap(stored, at, KEY));
      }
      ByteArrayOutputStream added = new ByteArrayOutputStream();
      List<Row> out = new ArrayList<>(units.size());
      for (Row unit : units) {
        List<Object> idx = unit.getList(f.idx);
        byte[] spans = (byte[]) unit.get(f.spans);
        List<Object> dropped = null;
        for (int i = 0; i < idx.size(); i++) {
          if (known.add(ByteBuffer.wrap(spans, i * KEY, KEY))) {
            added.write(spans, i * KEY, KEY);
          } else {
            if (dropped == null) {
              dropped = new ArrayList<>();
            }
            dropped.add(idx.get(i));
          }
        }
        if (dropped != null) {
          Object[] values = new Object[unit.length()];
          for (int c = 0; c < values.length; c++) {
            values[c] = unit.get(c);
          }
          values[f.idx] = CollectionConverters.asScala(dropped).toSeq();
          values[f.spans] = null;
          out.add(RowFactory.create(values));
        }
      }
      if (added.size() > 0) {
        byte[] next = Arrays.copyOf(stored, stored.length + added.size());
        System.arraycopy(added.toByteArray(), 0, next, stored.length, added.size());
        seen.update(next);
      }
      return CollectionConverters.asScala(out.iterator());
    }
  }
}
