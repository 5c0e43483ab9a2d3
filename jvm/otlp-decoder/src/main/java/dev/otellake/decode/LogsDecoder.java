package dev.otellake.decode;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import io.opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest;
import io.opentelemetry.proto.common.v1.InstrumentationScope;
import io.opentelemetry.proto.logs.v1.LogRecord;
import io.opentelemetry.proto.logs.v1.ResourceLogs;
import io.opentelemetry.proto.logs.v1.ScopeLogs;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

/**
 * Spark Java UDF: OTLP {@code ExportLogsServiceRequest} bytes to one row of {@link
 * #rowType()}, one {@code logs} element per log record. Record-level errors as in {@link
 * RecordDecoder}.
 *
 * <p>Trace context is optional on a log record: an empty or all-zero {@code trace_id}/{@code
 * span_id} is stored as {@code ""}; one of any other length than 16 (trace) / 8 (span) bytes sends
 * the record to {@code rejects} ({@code invalid_id}) while the record's other logs still land.
 * The body is rendered like a top-level attribute value ({@link AnyValueRenderer#render}) and cut
 * to the value byte budget (counted in {@code truncated_values}); it is never dropped or hashed.
 *
 * <p>A decoder built for OTLP/JSON records ({@link DecoderOptions}) fails a record with {@code json_decode}
 * instead of {@code proto_decode}; a {@code traceId}/{@code spanId} that is not hex there is an {@code
 * invalid_id} reject like one of the wrong length.
 */
public final class LogsDecoder extends RecordDecoder<ExportLogsServiceRequest> {
  private static final long serialVersionUID = 1L;

  private static final StructType RETURN_TYPE = buildReturnType();

  public LogsDecoder(DecoderOptions options) {
    super("resource_logs", RETURN_TYPE, options.attributes(), options.json);
  }

  @Override
  OtlpJson.Schema buildJsonSchema() {
    return OtlpJson.schema(
        ExportLogsServiceRequest.getDescriptor(),
        LogRecord.getDescriptor().findFieldByName("trace_id"),
        LogRecord.getDescriptor().findFieldByName("span_id"));
  }

  private static StructType buildReturnType() {
    DataType str = DataTypes.StringType;
    DataType big = DataTypes.LongType;
    DataType i32 = DataTypes.IntegerType;
    StructType log =
        DataTypes.createStructType(
            new StructField[] {
              f("item_path", str),
              f("resource_attributes", ATTRS),
              f("scope_name", str),
              f("scope_version", str),
              f("time_unix_nano", big),
              f("observed_time_unix_nano", big),
              f("trace_id", str),
              f("span_id", str),
              f("trace_flags", i32),
              f("severity_number", i32),
              f("severity_text", str),
              f("body", str),
              f("event_name", str),
              f("log_attributes", ATTRS),
              f("dropped_attributes_count", big)
            });
    return recordType(array("logs", log));
  }

  @Override
  protected ExportLogsServiceRequest parse(byte[] value) throws InvalidProtocolBufferException {
    return ExportLogsServiceRequest.parseFrom(value);
  }

  @Override
  protected int topLevelCount(ExportLogsServiceRequest req) {
    return req.getResourceLogsCount();
  }

  @Override
  protected Row decode(ExportLogsServiceRequest req) {
    DecodeStats stats = new DecodeStats();
    Rejects rejects = new Rejects();
    List<Row> logs = new ArrayList<>();
    List<ResourceLogs> rlList = req.getResourceLogsList();
    for (int r = 0, nr = rlList.size(); r < nr; r++) {
      ResourceLogs rl = rlList.get(r);
      Map<String, String> resourceAttrs =
          attributes.toMap(rl.getResource().getAttributesList(), stats);
      List<ScopeLogs> slList = rl.getScopeLogsList();
      for (int s = 0, ns = slList.size(); s < ns; s++) {
        ScopeLogs sl = slList.get(s);
        InstrumentationScope scope = sl.getScope();
        String scopeName = scope.getName();
        String scopeVersion = scope.getVersion();
        String pathPrefix = "resource_logs[" + r + "].scope_logs[" + s + "].log_records[";
        List<LogRecord> lrList = sl.getLogRecordsList();
        for (int k = 0, nk = lrList.size(); k < nk; k++) {
          LogRecord lr = lrList.get(k);
          String itemPath = pathPrefix + k + ']';
          ByteString traceId = lr.getTraceId();
          ByteString spanId = lr.getSpanId();
          String problem =
              Ids.join(
                  optionalIdProblem("trace_id", traceId, Ids.TRACE_ID_BYTES),
                  optionalIdProblem("span_id", spanId, Ids.SPAN_ID_BYTES));
          if (problem != null) {
            rejects.add("invalid_id", itemPath, problem);
            continue;
          }
          logs.add(
              RowFactory.create(
                  itemPath,
                  resourceAttrs,
                  scopeName,
                  scopeVersion,
                  lr.getTimeUnixNano(),
                  lr.getObservedTimeUnixNano(),
                  Ids.optionalHex(traceId),
                  Ids.optionalHex(spanId),
                  lr.getFlags(),
                  lr.getSeverityNumberValue(),
                  lr.getSeverityText(),
                  attributes.limit(AnyValueRenderer.render(lr.getBody()), stats),
                  lr.getEventName(),
                  attributes.toMap(lr.getAttributesList(), stats),
                  Integer.toUnsignedLong(lr.getDroppedAttributesCount())));
        }
      }
    }
    return result(stats, rejects, logs);
  }
}
