package dev.otellake.decode;

import java.time.Duration;
import org.apache.spark.api.java.function.MapFunction;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.streaming.OutputMode;
import org.apache.spark.sql.streaming.StatefulProcessor;
import org.apache.spark.sql.streaming.TTLConfig;
import org.apache.spark.sql.streaming.TimeMode;
import org.apache.spark.sql.streaming.TimerValues;
import org.apache.spark.sql.streaming.ValueState;
import scala.collection.Iterator;

/**
 * The streaming dedup of span keys: a unit whose key was seen within the window (processing
 * time) is dropped. Units are the rows {@code otellake.transform.dedup} builds; their binary
 * column {@code k} starts with {@link #RECORD} (a Kafka record's coordinates: passed through,
 * never stored) or {@link #SPAN} (a span's 32-byte key).
 *
 * <p>Why not Spark's {@code dropDuplicatesWithinWatermark}: its eviction walks every key in the
 * state at every batch (measured: ~5 s of CPU per batch with 1M keys in the state, even for a
 * batch of no records), so its cost grows with the window times the rate. Here each key is a
 * {@code transformWithState} value with a TTL; Spark expires those through an index ordered by
 * expiry time, so a batch costs what its own keys cost.
 */
public final class SpanDedup {
  /** First byte of a record unit's key. */
  public static final byte RECORD = 0;
  /** First byte of a span unit's key. */
  public static final byte SPAN = 1;

  private SpanDedup() {}

  /**
   * {@code units} without the span units whose key was seen in an earlier batch within
   * {@code windowMillis}, nor repeats of a key within the batch (the first one seen is kept).
   * Needs the RocksDB state store provider.
   */
  public static Dataset<Row> apply(Dataset<Row> units, long windowMillis) {
    int k = units.schema().fieldIndex("k");
    MapFunction<Row, byte[]> key = row -> (byte[]) row.get(k);
    return units
        .groupByKey(key, Encoders.BINARY())
        .transformWithState(
            new Processor(windowMillis),
            TimeMode.ProcessingTime(),
            OutputMode.Append(),
            Encoders.row(units.schema()));
  }

  /** Keeps the first unit of each span key not seen within the TTL. */
  static final class Processor extends StatefulProcessor<byte[], Row, Row> {
    private static final long serialVersionUID = 1L;
    private final long windowMillis;
    private transient ValueState<Boolean> seen;

    Processor(long windowMillis) {
      this.windowMillis = windowMillis;
    }

    @Override
    public void init(OutputMode outputMode, TimeMode timeMode) {
      seen =
          getHandle()
              .getValueState(
                  "seen", Encoders.BOOLEAN(), new TTLConfig(Duration.ofMillis(windowMillis)));
    }

    @Override
    public Iterator<Row> handleInputRows(byte[] key, Iterator<Row> rows, TimerValues timers) {
      if (key.length > 0 && key[0] == RECORD) {
        return rows; // a record unit: its coordinates are unique
      }
      Row first = rows.next();
      if (seen.exists()) {
        return Iterator.empty();
      }
      seen.update(Boolean.TRUE);
      return Iterator.single(first);
    }
  }
}
