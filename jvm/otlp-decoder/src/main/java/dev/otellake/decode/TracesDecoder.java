package dev.otellake.decode;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
import io.opentelemetry.proto.common.v1.InstrumentationScope;
import io.opentelemetry.proto.trace.v1.ResourceSpans;
import io.opentelemetry.proto.trace.v1.ScopeSpans;
import io.opentelemetry.proto.trace.v1.Span;
import io.opentelemetry.proto.trace.v1.Status;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.api.java.UDF1;
import org.apache.spark.sql.api.java.UDF3;
import org.apache.spark.sql.types.ArrayType;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

/**
 * Spark Java UDF: OTLP {@code ExportTraceServiceRequest} bytes to one row of
 * {@link #rowType()}. Never throws
 * for bad input: a record that cannot be decoded gets {@code error_reason}/{@code error_detail}
 * and empty {@code spans}; a span with an invalid trace/span id goes to {@code rejects} while the
 * record's other spans still land.
 *
 * <p>{@code error_reason}: {@code empty_record} (null or zero-length value), {@code proto_decode}
 * (parse failed, or no resource_spans and only unknown fields at top level), {@code
 * internal_error} (a bug in this decoder; should never happen).
 *
 * <p>A decoder built for OTLP/JSON records ({@link DecoderOptions}) fails a record with {@code
 * json_decode} instead of {@code proto_decode}; a span id or trace id that is not hex there is an
 * {@code invalid_id} reject like one of the wrong length, while bad hex in {@code parentSpanId}
 * or a link's ids (never checked per span) fails the record.
 *
 * <p>{@link #withDedicated} gives a decoder whose spans have dedicated attribute columns: right
 * after {@code span_attributes}, one column per configured attribute key of {@code
 * span_attributes} or {@code resource_attributes}, holding that key's value instead of the map.
 */
public final class TracesDecoder extends RecordDecoder<ExportTraceServiceRequest> {
  private static final long serialVersionUID = 1L;

  private static final String[] SPAN_KINDS = {
    "UNSPECIFIED", "INTERNAL", "SERVER", "CLIENT", "PRODUCER", "CONSUMER"
  };
  private static final String[] STATUS_CODES = {"UNSET", "OK", "ERROR"};

  /** Where the dedicated columns start in a span row: right after {@code span_attributes}. */
  private static final int DEDICATED_AT = 16;
  /** Fields of a span row without dedicated columns. */
  private static final int SPAN_FIELDS = 21;

  private static final StructType RETURN_TYPE = buildReturnType(new StructField[0]);

  /** The dedicated attribute columns; null: none. */
  private final Dedicated dedicated;

  public TracesDecoder(DecoderOptions options) {
    this(options.attributes(), options.json, null);
  }

  private TracesDecoder(AttributeMapper attributes, boolean json, Dedicated dedicated) {
    super("resource_spans", dedicated == null ? RETURN_TYPE : dedicated.rowType, attributes, json);
    this.dedicated = dedicated;
  }

  /**
   * This decoder (same encoding, value limit, drop and hash keys) with dedicated attribute
   * columns: for each {@code i}, the value of attribute {@code keys[i]} of {@code maps[i]} ({@code
   * span_attributes} or {@code resource_attributes}) goes to the span column {@code columns[i]}
   * instead of that map. The columns follow {@code span_attributes} in the given order, each
   * {@code STRING}, or {@code INT} when {@code types[i]} is {@code integer}.
   *
   * <p>A value is dropped, hashed and truncated as a map value would be, and the last of
   * duplicate keys wins. An {@code INT} column takes a value only when it is the canonical decimal
   * form of a 32-bit int ({@link AttributeMapper#canonicalInt}); any other value stays in the map,
   * so nothing is lost and the column read as a string gives the same text. Empty arrays: no
   * dedicated columns.
   *
   * @throws IllegalArgumentException for arrays of different lengths, a duplicate column or
   *     (map, key), a column named as a span field, or an unknown map or type
   */
  public TracesDecoder withDedicated(
      String[] columns, String[] keys, String[] maps, String[] types) {
    return new TracesDecoder(attributes, isJson(), Dedicated.of(columns, keys, maps, types));
  }

  /**
   * The dedicated attribute columns of a decoder: their types, the {@code key -> column slot}
   * lookup of each map (null when the map has none) and the resulting row type. Immutable.
   */
  private static final class Dedicated implements Serializable {
    private static final long serialVersionUID = 1L;

    final int count;
    final boolean[] integer;
    final HashMap<String, Integer> spanSlots;
    final HashMap<String, Integer> resourceSlots;
    final StructType rowType;

    private Dedicated(
        boolean[] integer,
        HashMap<String, Integer> spanSlots,
        HashMap<String, Integer> resourceSlots,
        StructType rowType) {
      this.count = integer.length;
      this.integer = integer;
      this.spanSlots = spanSlots.isEmpty() ? null : spanSlots;
      this.resourceSlots = resourceSlots.isEmpty() ? null : resourceSlots;
      this.rowType = rowType;
    }

    /** Null when there are no columns. */
    static Dedicated of(String[] columns, String[] keys, String[] maps, String[] types) {
      int n = columns == null ? 0 : columns.length;
      if ((keys == null ? 0 : keys.length) != n
          || (maps == null ? 0 : maps.length) != n
          || (types == null ? 0 : types.length) != n) {
        throw new IllegalArgumentException(
            "withDedicated: columns, keys, maps and types must have the same length");
      }
      if (n == 0) {
        return null;
      }
      StructType span =
          (StructType) ((ArrayType) RETURN_TYPE.apply("spans").dataType()).elementType();
      HashSet<String> names = new HashSet<>(Arrays.asList(span.fieldNames()));
      boolean[] integer = new boolean[n];
      HashMap<String, Integer> spanSlots = new HashMap<>();
      HashMap<String, Integer> resourceSlots = new HashMap<>();
      StructField[] fields = new StructField[n];
      for (int i = 0; i < n; i++) {
        String column = columns[i];
        String key = keys[i];
        if (column == null || column.isEmpty() || key == null) {
          throw new IllegalArgumentException("withDedicated: null or empty column or key at " + i);
        }
        if (!names.add(column)) {
          throw new IllegalArgumentException(
              "withDedicated: column " + column + " is a span field or given twice");
        }
        HashMap<String, Integer> slots;
        if ("span_attributes".equals(maps[i])) {
          slots = spanSlots;
        } else if ("resource_attributes".equals(maps[i])) {
          slots = resourceSlots;
        } else {
          throw new IllegalArgumentException(
              "withDedicated: map "
                  + maps[i]
                  + " of column "
                  + column
                  + "; expected span_attributes or resource_attributes");
        }
        if (slots.put(key, i) != null) {
          throw new IllegalArgumentException(
              "withDedicated: key " + key + " of " + maps[i] + " has two columns");
        }
        DataType type;
        if ("string".equals(types[i])) {
          type = DataTypes.StringType;
        } else if ("integer".equals(types[i])) {
          type = DataTypes.IntegerType;
          integer[i] = true;
        } else {
          throw new IllegalArgumentException(
              "withDedicated: type "
                  + types[i]
                  + " of column "
                  + column
                  + "; expected string or integer");
        }
        fields[i] = f(column, type);
      }
      return new Dedicated(integer, spanSlots, resourceSlots, buildReturnType(fields));
    }
  }

  @Override
  OtlpJson.Schema buildJsonSchema() {
    return OtlpJson.schema(
        ExportTraceServiceRequest.getDescriptor(),
        Span.getDescriptor().findFieldByName("trace_id"),
        Span.getDescriptor().findFieldByName("span_id"));
  }

  /** The row type with the {@code dedicated} columns right after {@code span_attributes}. */
  private static StructType buildReturnType(StructField[] dedicated) {
    DataType str = DataTypes.StringType;
    DataType big = DataTypes.LongType;
    StructType event =
        DataTypes.createStructType(
            new StructField[] {f("time_unix_nano", big), f("name", str), f("attributes", ATTRS)});
    StructType link =
        DataTypes.createStructType(
            new StructField[] {
              f("trace_id", str), f("span_id", str), f("trace_state", str), f("attributes", ATTRS)
            });
    StructField[] base =
        new StructField[] {
          f("item_path", str),
          f("resource_attributes", ATTRS),
          f("scope_name", str),
          f("scope_version", str),
          f("trace_id", str),
          f("span_id", str),
          f("parent_span_id", str),
          f("trace_state", str),
          f("flags", DataTypes.IntegerType),
          f("span_name", str),
          f("span_kind", str),
          f("start_time_unix_nano", big),
          f("end_time_unix_nano", big),
          f("status_code", str),
          f("status_message", str),
          f("span_attributes", ATTRS),
          array("events", event),
          array("links", link),
          f("dropped_attributes_count", big),
          f("dropped_events_count", big),
          f("dropped_links_count", big)
        };
    StructField[] fields = new StructField[base.length + dedicated.length];
    System.arraycopy(base, 0, fields, 0, DEDICATED_AT);
    System.arraycopy(dedicated, 0, fields, DEDICATED_AT, dedicated.length);
    System.arraycopy(
        base, DEDICATED_AT, fields, DEDICATED_AT + dedicated.length, base.length - DEDICATED_AT);
    return recordType(array("spans", DataTypes.createStructType(fields)));
  }

  @Override
  protected ExportTraceServiceRequest parse(byte[] value) throws InvalidProtocolBufferException {
    return ExportTraceServiceRequest.parseFrom(value);
  }

  @Override
  protected int topLevelCount(ExportTraceServiceRequest req) {
    return req.getResourceSpansCount();
  }

  @Override
  protected Row decode(ExportTraceServiceRequest req) {
    return decode(req, null);
  }

  /** Keeps the spans of {@code keep} (ordinals among the valid spans, as {@link SpanKeys}). */
  @Override
  protected Row decode(ExportTraceServiceRequest req, Keep keep) {
    DecodeStats stats = new DecodeStats();
    int valid = 0;
    Rejects rejects = new Rejects();
    List<Row> spans = new ArrayList<>();
    List<ResourceSpans> rsList = req.getResourceSpansList();
    for (int r = 0, nr = rsList.size(); r < nr; r++) {
      ResourceSpans rs = rsList.get(r);
      // Dedicated resource columns: computed once per resource, copied into each span row.
      Object[] resourceValues = null;
      Map<String, String> resourceAttrs;
      if (dedicated != null && dedicated.resourceSlots != null) {
        resourceValues = new Object[dedicated.count];
        resourceAttrs =
            attributes.toMap(
                rs.getResource().getAttributesList(),
                stats,
                dedicated.resourceSlots,
                dedicated.integer,
                resourceValues,
                0);
      } else {
        resourceAttrs = attributes.toMap(rs.getResource().getAttributesList(), stats);
      }
      List<ScopeSpans> ssList = rs.getScopeSpansList();
      for (int s = 0, ns = ssList.size(); s < ns; s++) {
        ScopeSpans ss = ssList.get(s);
        InstrumentationScope scope = ss.getScope();
        String scopeName = scope.getName();
        String scopeVersion = scope.getVersion();
        String pathPrefix = "resource_spans[" + r + "].scope_spans[" + s + "].spans[";
        List<Span> spList = ss.getSpansList();
        for (int k = 0, nk = spList.size(); k < nk; k++) {
          Span sp = spList.get(k);
          String itemPath = pathPrefix + k + ']';
          ByteString traceId = sp.getTraceId();
          ByteString spanId = sp.getSpanId();
          String problem =
              Ids.join(
                  requiredIdProblem("trace_id", traceId, Ids.TRACE_ID_BYTES),
                  requiredIdProblem("span_id", spanId, Ids.SPAN_ID_BYTES));
          if (problem != null) {
            rejects.add("invalid_id", itemPath, problem);
            continue;
          }
          if (keep == null || keep.kept.get(valid)) {
            spans.add(
                spanRow(
                    sp,
                    itemPath,
                    resourceAttrs,
                    resourceValues,
                    scopeName,
                    scopeVersion,
                    traceId,
                    spanId,
                    stats));
          }
          valid++;
        }
      }
    }
    if (keep != null && valid != keep.expected) {
      return decode(req, null); // not the spans the dedup saw: keep them all
    }
    return result(stats, rejects, spans);
  }

  /** {@code ARRAY<BINARY>}: what {@link #keys()} returns. */
  public static DataType keysType() {
    return DataTypes.createArrayType(DataTypes.BinaryType, false);
  }

  /**
   * Spark UDF: a record's bytes to the dedup keys of its valid spans ({@link SpanKeys}), in the
   * order this decoder emits them; null when the record does not parse (then nothing of it is
   * deduplicated).
   */
  public UDF1<byte[], byte[][]> keys() {
    return new KeysUdf(this);
  }

  /** What {@link #traceKeys()} returns: {@link SpanKeys#byTraceType()}. */
  public static DataType traceKeysType() {
    return SpanKeys.byTraceType();
  }

  /**
   * Spark UDF: a record's bytes to the dedup keys of its valid spans grouped by trace ({@link
   * SpanKeys#byTrace}); null when the record does not parse.
   */
  public UDF1<byte[], Row[]> traceKeys() {
    return new TraceKeysUdf(new KeysUdf(this));
  }

  /**
   * Spark UDF: as this decoder, keeping only the spans whose ordinals are in the second argument
   * (null: all of them); the third is how many keys {@link #keys()} gave for the record.
   */
  public UDF3<byte[], scala.collection.Seq<Object>, Integer, Row> keeping() {
    return new KeepingUdf(this);
  }

  private static final class KeysUdf implements UDF1<byte[], byte[][]> {
    private static final long serialVersionUID = 1L;
    private final TracesDecoder decoder;

    KeysUdf(TracesDecoder decoder) {
      this.decoder = decoder;
    }

    @Override
    public byte[][] call(byte[] value) {
      byte[] proto = decoder.protoBytes(value);
      return proto == null || proto.length == 0 ? null : SpanKeys.scan(proto);
    }
  }

  private static final class TraceKeysUdf implements UDF1<byte[], Row[]> {
    private static final long serialVersionUID = 1L;
    private final KeysUdf keys;

    TraceKeysUdf(KeysUdf keys) {
      this.keys = keys;
    }

    @Override
    public Row[] call(byte[] value) {
      return SpanKeys.byTrace(keys.call(value));
    }
  }

  private static final class KeepingUdf
      implements UDF3<byte[], scala.collection.Seq<Object>, Integer, Row> {
    private static final long serialVersionUID = 1L;
    private final TracesDecoder decoder;

    KeepingUdf(TracesDecoder decoder) {
      this.decoder = decoder;
    }

    @Override
    public Row call(byte[] value, scala.collection.Seq<Object> kept, Integer expected) {
      if (kept == null || expected == null) {
        return decoder.call(value, null);
      }
      java.util.BitSet bits = new java.util.BitSet(expected);
      scala.collection.Iterator<Object> it = kept.iterator();
      while (it.hasNext()) {
        bits.set(((Number) it.next()).intValue());
      }
      return decoder.call(value, new Keep(bits, expected));
    }
  }

  private Row spanRow(
      Span sp,
      String itemPath,
      Map<String, String> resourceAttrs,
      Object[] resourceValues,
      String scopeName,
      String scopeVersion,
      ByteString traceId,
      ByteString spanId,
      DecodeStats stats) {
    int kind = sp.getKindValue();
    Status status = sp.getStatus();
    int code = status.getCodeValue();
    int d = dedicated == null ? 0 : dedicated.count;
    Object[] row = new Object[SPAN_FIELDS + d];
    row[0] = itemPath;
    row[1] = resourceAttrs;
    row[2] = scopeName;
    row[3] = scopeVersion;
    row[4] = Hex.of(traceId);
    row[5] = Hex.of(spanId);
    row[6] = Hex.of(sp.getParentSpanId());
    row[7] = sp.getTraceState();
    row[8] = sp.getFlags();
    row[9] = sp.getName();
    row[10] = kind >= 0 && kind < SPAN_KINDS.length ? SPAN_KINDS[kind] : SPAN_KINDS[0];
    row[11] = sp.getStartTimeUnixNano();
    row[12] = sp.getEndTimeUnixNano();
    row[13] = code >= 0 && code < STATUS_CODES.length ? STATUS_CODES[code] : STATUS_CODES[0];
    row[14] = status.getMessage();
    if (resourceValues != null) {
      System.arraycopy(resourceValues, 0, row, DEDICATED_AT, d);
    }
    row[15] =
        d == 0 || dedicated.spanSlots == null
            ? attributes.toMap(sp.getAttributesList(), stats)
            : attributes.toMap(
                sp.getAttributesList(),
                stats,
                dedicated.spanSlots,
                dedicated.integer,
                row,
                DEDICATED_AT);
    int i = DEDICATED_AT + d;
    row[i++] = events(sp.getEventsList(), stats);
    row[i++] = links(sp.getLinksList(), stats);
    row[i++] = Integer.toUnsignedLong(sp.getDroppedAttributesCount());
    row[i++] = Integer.toUnsignedLong(sp.getDroppedEventsCount());
    row[i] = Integer.toUnsignedLong(sp.getDroppedLinksCount());
    return RowFactory.create(row);
  }

  private List<Row> events(List<Span.Event> events, DecodeStats stats) {
    int n = events.size();
    if (n == 0) {
      return Collections.emptyList();
    }
    List<Row> out = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      Span.Event e = events.get(i);
      out.add(
          RowFactory.create(
              e.getTimeUnixNano(), e.getName(), attributes.toMap(e.getAttributesList(), stats)));
    }
    return out;
  }

  private List<Row> links(List<Span.Link> links, DecodeStats stats) {
    int n = links.size();
    if (n == 0) {
      return Collections.emptyList();
    }
    List<Row> out = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      Span.Link l = links.get(i);
      out.add(
          RowFactory.create(
              Hex.of(l.getTraceId()),
              Hex.of(l.getSpanId()),
              l.getTraceState(),
              attributes.toMap(l.getAttributesList(), stats)));
    }
    return out;
  }
}
