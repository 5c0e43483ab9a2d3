package dev.otellake.decode;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.WireFormat;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;

/**
 * The dedup keys of the spans in one {@code ExportTraceServiceRequest}, read straight off the
 * wire without building the message: for every span with a valid trace id and span id (the
 * spans {@link TracesDecoder} emits, in the same order), 32 bytes: trace id (16), span id (8),
 * {@code start_time_unix_nano} (8, big-endian).
 *
 * <p>Why: the streaming dedup needs only these keys, and a full decode per span costs several
 * times what this scan does. The scan follows protobuf's own rules where they decide which
 * spans exist and what their ids are: repeated messages in wire order, a field with the wrong
 * wire type is an unknown field, the last occurrence of a scalar field wins. Anything it cannot
 * read returns {@code null} (the caller then keeps every span of the record).
 */
final class SpanKeys {
  static final int KEY_BYTES = Ids.TRACE_ID_BYTES + Ids.SPAN_ID_BYTES + 8;

  private static final int LEN = WireFormat.WIRETYPE_LENGTH_DELIMITED;
  private static final int RESOURCE_SPANS = tag(1, LEN);
  private static final int SCOPE_SPANS = tag(2, LEN);
  private static final int SPANS = tag(2, LEN);
  private static final int TRACE_ID = tag(1, LEN);
  private static final int SPAN_ID = tag(2, LEN);
  private static final int START_TIME = tag(7, WireFormat.WIRETYPE_FIXED64);

  private SpanKeys() {}

  /** A field's tag: number and wire type (protobuf's own helper is package-private). */
  private static int tag(int field, int wireType) {
    return (field << 3) | wireType;
  }

  /** What a span key holds after its trace id: span id and start time. */
  static final int SPAN_PART_BYTES = KEY_BYTES - Ids.TRACE_ID_BYTES;

  /**
   * {@code ARRAY<STRUCT<trace: BINARY, idx: ARRAY<INT>, spans: BINARY>>}: what {@link
   * #byTrace} returns.
   */
  static DataType byTraceType() {
    return DataTypes.createArrayType(
        DataTypes.createStructType(
            new org.apache.spark.sql.types.StructField[] {
              DataTypes.createStructField("trace", DataTypes.BinaryType, false),
              DataTypes.createStructField(
                  "idx", DataTypes.createArrayType(DataTypes.IntegerType, false), false),
              DataTypes.createStructField("spans", DataTypes.BinaryType, false)
            }),
        false);
  }

  /**
   * A record's keys grouped by trace, in order of each trace's first span: the trace id, the
   * ordinals of its spans (as {@link #scan} numbers them) and their span id + start (16 bytes
   * each, in the same order). Null stays null.
   *
   * <p>Why: the dedup's state is kept per trace, so a batch costs one state lookup per trace
   * and record instead of one per span (a record of 1,000 generated spans holds ~60 traces).
   */
  static Row[] byTrace(byte[][] keys) {
    if (keys == null) {
      return null;
    }
    Map<ByteBuffer, List<Integer>> groups = new LinkedHashMap<>();
    for (int i = 0; i < keys.length; i++) {
      ByteBuffer trace = ByteBuffer.wrap(keys[i], 0, Ids.TRACE_ID_BYTES);
      groups.computeIfAbsent(trace, t -> new ArrayList<>()).add(i);
    }
    Row[] rows = new Row[groups.size()];
    int g = 0;
    for (Map.Entry<ByteBuffer, List<Integer>> group : groups.entrySet()) {
      List<Integer> idx = group.getValue();
      byte[] spans = new byte[idx.size() * SPAN_PART_BYTES];
      for (int j = 0; j < idx.size(); j++) {
        System.arraycopy(
            keys[idx.get(j)], Ids.TRACE_ID_BYTES, spans, j * SPAN_PART_BYTES, SPAN_PART_BYTES);
      }
      byte[] trace = Arrays.copyOf(keys[idx.get(0)], Ids.TRACE_ID_BYTES);
      rows[g++] = RowFactory.create(trace, idx.toArray(new Integer[0]), spans);
    }
    return rows;
  }

  /** The keys of the valid spans of {@code request} in decoder order; null if it does not parse. */
  static byte[][] scan(byte[] request) {
    List<byte[]> keys = new ArrayList<>();
    try {
      CodedInputStream in = CodedInputStream.newInstance(request);
      in.setRecursionLimit(Integer.MAX_VALUE);
      int tag;
      while ((tag = in.readTag()) != 0) {
        if (tag == RESOURCE_SPANS) {
          int limit = in.pushLimit(in.readRawVarint32());
          resourceSpans(in, keys);
          in.popLimit(limit);
        } else if (!in.skipField(tag)) {
          break;
        }
      }
    } catch (IOException | RuntimeException e) {
      return null;
    }
    return keys.toArray(new byte[0][]);
  }

  private static void resourceSpans(CodedInputStream in, List<byte[]> keys) throws IOException {
    int tag;
    while ((tag = in.readTag()) != 0) {
      if (tag == SCOPE_SPANS) {
        int limit = in.pushLimit(in.readRawVarint32());
        scopeSpans(in, keys);
        in.popLimit(limit);
      } else {
        in.skipField(tag);
      }
    }
  }

  private static void scopeSpans(CodedInputStream in, List<byte[]> keys) throws IOException {
    int tag;
    while ((tag = in.readTag()) != 0) {
      if (tag == SPANS) {
        int limit = in.pushLimit(in.readRawVarint32());
        byte[] key = span(in);
        in.popLimit(limit);
        if (key != null) {
          keys.add(key);
        }
      } else {
        in.skipField(tag);
      }
    }
  }

  /** One span's key, or null when its ids are invalid (the decoder rejects that span). */
  private static byte[] span(CodedInputStream in) throws IOException {
    byte[] traceId = new byte[0];
    byte[] spanId = new byte[0];
    long start = 0;
    int tag;
    while ((tag = in.readTag()) != 0) {
      if (tag == TRACE_ID) {
        traceId = in.readByteArray();
      } else if (tag == SPAN_ID) {
        spanId = in.readByteArray();
      } else if (tag == START_TIME) {
        start = in.readFixed64();
      } else {
        in.skipField(tag);
      }
    }
    if (!valid(traceId, Ids.TRACE_ID_BYTES) || !valid(spanId, Ids.SPAN_ID_BYTES)) {
      return null;
    }
    byte[] key = new byte[KEY_BYTES];
    System.arraycopy(traceId, 0, key, 0, Ids.TRACE_ID_BYTES);
    System.arraycopy(spanId, 0, key, Ids.TRACE_ID_BYTES, Ids.SPAN_ID_BYTES);
    for (int i = 0; i < 8; i++) {
      key[KEY_BYTES - 1 - i] = (byte) (start >>> (8 * i));
    }
    return key;
  }

  /** As {@link Ids#requiredProblem} == null: the expected length and not all zero. */
  private static boolean valid(byte[] id, int expected) {
    if (id.length != expected) {
      return false;
    }
    for (byte b : id) {
      if (b != 0) {
        return true;
      }
    }
    return false;
  }
}
