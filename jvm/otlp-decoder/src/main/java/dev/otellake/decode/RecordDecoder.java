package dev.otellake.decode;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import java.io.Serializable;
import java.util.Collections;
import java.util.List;
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
 * @param <T> the export request message
 */
public abstract class RecordDecoder<T extends Message> implements UDF1<byte[], Row>, Serializable {
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

  /**
   * @param topLevelField the request's top-level repeated field, as named in the proto
   * @param returnType the struct this decoder returns, built by {@link #recordType}
   */
  protected RecordDecoder(String topLevelField, StructType returnType) {
    this.topLevelField = topLevelField;
    this.arrays = returnType.size() - 4;
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

  /** How many top-level items ({@code resource_*}) {@code req} holds. */
  protected abstract int topLevelCount(T req);

  /** The row of a parsed request with at least one top-level item; see {@link #result}. */
  protected abstract Row decode(T req);

  @Override
  public final Row call(byte[] value) {
    if (value == null) {
      return error("empty_record", "value is null");
    }
    if (value.length == 0) {
      return error("empty_record", "value has 0 bytes");
    }
    T req;
    try {
      req = parse(value);
    } catch (InvalidProtocolBufferException e) {
      return error("proto_decode", message(e));
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
    try {
      return decode(req);
    } catch (RuntimeException | StackOverflowError e) {
      return error("internal_error", e.getClass().getName() + ": " + message(e));
    }
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
    row[i] = stats.repairedUtf8;
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
