package dev.otellake.decode;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import java.io.Serializable;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.api.java.UDF1;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

/**
 * The record-level part every otel-lake OTLP decoder shares: a Spark Java UDF from one OTLP
 * export request's bytes to one row of
 * {@code error_reason, error_detail, <item arrays...>, rejects, truncated_values, repaired_utf8}
 * (see {@link #recordType}). Never throws for bad input: a record that cannot be decoded gets
 * {@code error_reason}/{@code error_detail}, empty arrays and zero counters.
 *
 * <p>{@code error_reason}: {@code empty_record} (null or zero-length value), {@code proto_decode}
 * (parse failed, or no top-level items and only unknown fields at top level), {@code
 * internal_error} (a bug in the decoder; should never happen).
 *
 * <p>A decoder built for {@code otlp_json} (the subclasses' {@code json(...)} factories) takes
 * OTLP/JSON records instead: {@link OtlpJson} transcodes each one to the protobuf encoding, which
 * then goes through the same parse and the same flattening, so the row is exactly the one the
 * equivalent protobuf record gives. Its record-level decode failures (bad JSON, a value of the
 * wrong type or out of range, not an object, or no top-level items) use {@code json_decode}
 * instead of {@code proto_decode}.
 *
 * @param <T> the export request message
 */
public abstract class RecordDecoder<T extends Message> implements UDF1<byte[], Row>, Serializable {
  /** Strings repaired while parsing the record being decoded on this thread (see {@link #result}). */
  private static final ThreadLocal<Integer> REPAIRED = ThreadLocal.withInitial(() -> 0);
  private static final long serialVersionUID = 1L;

  /** {@code MAP<STRING,STRING>}: every attribute map. */
  static final DataType ATTRS = DataTypes.createMapType(DataTypes.StringType, DataTypes.StringType, true);

  /** {@code STRUCT<reason STRING, item_path STRING, detail STRING>}: one element of {@code rejects}. */
  static final StructType REJECT =
      DataTypes.createStructType(
          new StructField[] {
            f("reason", DataTypes.StringType),
            f("item_path", DataTypes.StringType),
            f("detail", DataTypes.StringType)
          });

  /** Top-level repeated field name, for the error detail (e.g. {@code resource_spans}). */
  private final String topLevelField;
  /** Arrays in the row between {@code error_detail} and the counters, {@code rejects} included. */
  private final int arrays;
  /** Whether records are OTLP/JSON ({@code otlp_json}) rather than protobuf. */
  private final boolean json;
  /** The struct {@link #call} returns. */
  private final StructType rowType;

  /** The attribute rules (value budget, drop and hash keys) of this decoder. */
  protected final AttributeMapper attributes;

  /**
   * @param topLevelField the request's top-level repeated field, as named in the proto
   * @param returnType the struct this decoder returns, built by {@link #recordType}
   * @param attributes the attribute rules
   * @param json whether records are OTLP/JSON ({@link #buildJsonSchema} then describes them)
   */
  protected RecordDecoder(
      String topLevelField, StructType returnType, AttributeMapper attributes, boolean json) {
    this.topLevelField = topLevelField;
    this.arrays = returnType.size() - 4;
    this.attributes = attributes;
    this.json = json;
    this.rowType = returnType;
  }

  /**
   * The struct this decoder's {@link #call} returns (the one its constructor got): register the
   * UDF with it, as it may differ between decoders of one class (e.g. {@link
   * TracesDecoder#withDedicated}).
   */
  public final StructType rowType() {
    return rowType;
  }

  /** Whether this decoder takes OTLP/JSON records ({@code otlp_json}) rather than protobuf ones. */
  public final boolean isJson() {
    return json;
  }

  /** A nullable struct field. */
  static StructField f(String name, DataType type) {
    return DataTypes.createStructField(name, type, true);
  }

  /** A nullable {@code ARRAY<element>} field. */
  static StructField array(String name, DataType element) {
    return f(name, DataTypes.createArrayType(element, true));
  }

  /**
   * The record struct: {@code error_reason, error_detail}, then {@code items}, then {@code
   * rejects, truncated_values, repaired_utf8}.
   */
  static StructType recordType(StructField... items) {
    StructField[] all = new StructField[items.length + 5];
    all[0] = f("error_reason", DataTypes.StringType);
    all[1] = f("error_detail", DataTypes.StringType);
    System.arraycopy(items, 0, all, 2, items.length);
    int i = items.length + 2;
    all[i++] = array("rejects", REJECT);
    all[i++] = f("truncated_values", DataTypes.IntegerType);
    all[i] = f("repaired_utf8", DataTypes.IntegerType);
    return DataTypes.createStructType(all);
  }

  /** Parses one record (the generated {@code parseFrom(byte[])}). */
  protected abstract T parse(byte[] value) throws InvalidProtocolBufferException;

  /** The OTLP/JSON transcoding tables of the request type (built once per decoder class). */
  abstract OtlpJson.Schema buildJsonSchema();

  /** Each decoder class's {@link #buildJsonSchema}, built on first use. */
  private static final Map<Class<?>, OtlpJson.Schema> JSON_SCHEMAS = new ConcurrentHashMap<>();

  private OtlpJson.Schema jsonSchema() {
    return JSON_SCHEMAS.computeIfAbsent(getClass(), c -> buildJsonSchema());
  }

  /** How many top-level items ({@code resource_*}) {@code req} holds. */
  protected abstract int topLevelCount(T req);

  /** The row of a parsed request with at least one top-level item; see {@link #result}. */
  protected abstract Row decode(T req);

  /**
   * As {@link #decode(Message)}, keeping only the items {@code keep} names; decoders whose items
   * are never deduplicated keep them all.
   */
  protected Row decode(T req, Keep keep) {
    return decode(req);
  }

  /**
   * Which items of a record to keep: those whose ordinal (among the items the decoder would
   * emit, in order) is set in {@code kept}. {@code expected} is how many items the dedup saw in
   * the record; a decoder that finds another number keeps every item instead (the record was
   * read differently, so the ordinals cannot be trusted, and a duplicate is better than a loss).
   */
  public static final class Keep {
    final java.util.BitSet kept;
    final int expected;

    public Keep(java.util.BitSet kept, int expected) {
      this.kept = kept;
      this.expected = expected;
    }
  }

  @Override
  public final Row call(byte[] value) {
    return call(value, null);
  }

  /** As {@link #call(byte[])}, keeping only the items {@code keep} names (null: all). */
  public final Row call(byte[] value, Keep keep) {
    if (value == null) {
      return error("empty_record", "value is null");
    }
    if (value.length == 0) {
      return error("empty_record", "value has 0 bytes");
    }
    return json ? callJson(value, keep) : callProto(value, keep);
  }

  /**
   * The protobuf encoding of a record: the record itself, or (a JSON decoder) its transcoding;
   * null when a JSON record does not transcode (its decode then fails the record).
   */
  final byte[] protoBytes(byte[] value) {
    if (!json || value == null) {
      return value;
    }
    try {
      return new OtlpJsonTranscoder(value).run(jsonSchema());
    } catch (OtlpJson.DecodeException | RuntimeException | StackOverflowError e) {
      return null;
    }
  }

  private Row callProto(byte[] value, Keep keep) {
    T req;
    int repaired = 0;
    try {
      req = parse(value);
    } catch (InvalidProtocolBufferException e) {
      if (!String.valueOf(e.getMessage()).contains("UTF-8")) {
        return error("proto_decode", message(e));
      }
      // Invalid UTF-8 in a string: read the strings as bytes, repair them, parse again.
      try {
        Utf8Repair.Result fixed =
            Utf8Repair.repair(value, parse(new byte[0]).getDescriptorForType());
        req = parse(fixed.value);
        repaired = fixed.repaired;
      } catch (java.io.IOException | RuntimeException | StackOverflowError again) {
        return error("proto_decode", message(e) + " (UTF-8 repair failed: " + again + ")");
      }
    } catch (RuntimeException | StackOverflowError e) {
      return error("proto_decode", e.getClass().getSimpleName() + ": " + message(e));
    }
    if (topLevelCount(req) == 0) {
      int unknown = req.getUnknownFields().getSerializedSize();
      return error(
          "proto_decode",
          "no "
              + topLevelField
              + "; top level has only unknown fields ("
              + unknown
              + " of "
              + value.length
              + " bytes)");
    }
    REPAIRED.set(repaired);
    try {
      return decodeChecked(req, keep);
    } finally {
      REPAIRED.set(0);
    }
  }

  private Row callJson(byte[] value, Keep keep) {
    OtlpJsonTranscoder transcoder = new OtlpJsonTranscoder(value);
    T req;
    try {
      req = parse(transcoder.run(jsonSchema()));
    } catch (OtlpJson.DecodeException e) {
      return error("json_decode", message(e));
    } catch (InvalidProtocolBufferException e) {
      return error("json_decode", "as protobuf: " + message(e));
    } catch (RuntimeException | StackOverflowError e) {
      return error("json_decode", e.getClass().getSimpleName() + ": " + message(e));
    }
    if (topLevelCount(req) == 0) {
      return error(
          "json_decode",
          "no "
              + jsonName(topLevelField)
              + " items; the top-level object has "
              + transcoder.topFields
              + " field(s), "
              + transcoder.topUnknown
              + " of them unknown");
    }
    return decodeChecked(req, keep);
  }

  private Row decodeChecked(T req, Keep keep) {
    try {
      return keep == null ? decode(req) : decode(req, keep);
    } catch (RuntimeException | StackOverflowError e) {
      return error("internal_error", e.getClass().getName() + ": " + message(e));
    }
  }

  /** {@code resource_spans} -> {@code resourceSpans}. */
  private static String jsonName(String protoName) {
    StringBuilder sb = new StringBuilder(protoName.length());
    boolean upper = false;
    for (int i = 0; i < protoName.length(); i++) {
      char c = protoName.charAt(i);
      if (c == '_') {
        upper = true;
      } else {
        sb.append(upper ? Character.toUpperCase(c) : c);
        upper = false;
      }
    }
    return sb.toString();
  }

  /**
   * {@link Ids#requiredProblem}, naming the JSON text when the id was not hex (JSON decoders
   * only; see {@link OtlpJson}).
   */
  protected final String requiredIdProblem(String name, ByteString id, int expected) {
    String problem = Ids.requiredProblem(name, id, expected);
    if (problem == null || !json) {
      return problem;
    }
    String bad = OtlpJson.badHexText(id);
    return bad == null ? problem : notHex(name, bad, expected) + ", not all zero";
  }

  /**
   * {@link Ids#optionalProblem}, naming the JSON text when the id was not hex (JSON decoders
   * only; see {@link OtlpJson}).
   */
  protected final String optionalIdProblem(String name, ByteString id, int expected) {
    String problem = Ids.optionalProblem(name, id, expected);
    if (problem == null || !json) {
      return problem;
    }
    String bad = OtlpJson.badHexText(id);
    return bad == null ? problem : notHex(name, bad, expected) + ", or empty / all zero";
  }

  private static String notHex(String name, String text, int expected) {
    StringBuilder sb = new StringBuilder(name.length() + text.length() + 48).append(name).append(' ');
    AnyValueRenderer.appendJsonString(sb, text.length() > 64 ? text.substring(0, 64) + "\u2026" : text);
    return sb.append(" is not hex; expected ").append(expected * 2).append(" hex digits").toString();
  }

  /**
   * A decoded record's row: {@code items} in {@link #recordType} order (without {@code rejects}),
   * then {@code rejects} and the counters of {@code stats}.
   */
  protected final Row result(DecodeStats stats, Rejects rejects, List<?>... items) {
    Object[] row = new Object[items.length + 5];
    System.arraycopy(items, 0, row, 2, items.length);
    int i = items.length + 2;
    row[i++] = rejects.rows();
    row[i++] = stats.truncatedValues;
    row[i] = stats.repairedUtf8 + REPAIRED.get();
    return RowFactory.create(row);
  }

  /** A failed record's row: {@code reason}, {@code detail}, every array empty, counters 0. */
  protected final Row error(String reason, String detail) {
    Object[] row = new Object[arrays + 4];
    row[0] = reason;
    row[1] = detail;
    int i = 2;
    for (int a = 0; a < arrays; a++) {
      row[i++] = Collections.emptyList();
    }
    row[i++] = 0;
    row[i] = 0;
    return RowFactory.create(row);
  }

  /** {@code list} itself, or the shared immutable empty list when it is empty. */
  static <E> List<E> orEmpty(List<E> list) {
    return list.isEmpty() ? Collections.emptyList() : list;
  }

  private static String message(Throwable e) {
    String m = e.getMessage();
    return m == null || m.isEmpty() ? e.getClass().getSimpleName() : m;
  }
}
