package dev.otellake.decode;

import com.google.protobuf.InvalidProtocolBufferException;
import io.opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest;
import io.opentelemetry.proto.common.v1.InstrumentationScope;
import io.opentelemetry.proto.common.v1.KeyValue;
import io.opentelemetry.proto.metrics.v1.Exemplar;
import io.opentelemetry.proto.metrics.v1.ExponentialHistogram;
import io.opentelemetry.proto.metrics.v1.ExponentialHistogramDataPoint;
import io.opentelemetry.proto.metrics.v1.Histogram;
import io.opentelemetry.proto.metrics.v1.HistogramDataPoint;
import io.opentelemetry.proto.metrics.v1.Metric;
import io.opentelemetry.proto.metrics.v1.NumberDataPoint;
import io.opentelemetry.proto.metrics.v1.ResourceMetrics;
import io.opentelemetry.proto.metrics.v1.ScopeMetrics;
import io.opentelemetry.proto.metrics.v1.Sum;
import io.opentelemetry.proto.metrics.v1.SummaryDataPoint;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

/**
 * Spark Java UDF: OTLP {@code ExportMetricsServiceRequest} bytes to one row of {@link
 * #rowType()}: one element per data point, in the array of its metric's type ({@code gauge},
 * {@code sum}, {@code histogram}, {@code exp_histogram}, {@code summary}). Record-level errors as
 * in {@link RecordDecoder}.
 *
 * <p>Every element starts with the common columns ({@code item_path} ... {@code flags}). Number
 * values: {@code as_double}, or {@code as_int} converted to double, NULL when neither is set.
 * Optional histogram {@code sum}/{@code min}/{@code max}: NULL when absent. uint64/fixed64 counts
 * are stored as-is in a signed BIGINT. Exemplar ids: lowercase hex, {@code ""} when empty. A
 * metric with no data (none of the five types set) gives one {@code no_data} reject; a metric
 * with a type but no data points gives nothing.
 *
 * <p>A decoder built for OTLP/JSON records ({@link DecoderOptions}) fails a record with {@code json_decode}
 * instead of {@code proto_decode}; an exemplar id that is not hex there fails the record (exemplar ids are
 * never checked per item).
 */
public final class MetricsDecoder extends RecordDecoder<ExportMetricsServiceRequest> {
  private static final long serialVersionUID = 1L;

  private static final String[] TEMPORALITIES = {"UNSPECIFIED", "DELTA", "CUMULATIVE"};
  /** How many common columns start every data point element. */
  private static final int COMMON = 11;

  private static final StructType RETURN_TYPE = buildReturnType();

  public MetricsDecoder(DecoderOptions options) {
    super("resource_metrics", RETURN_TYPE, options.attributes(), options.json);
  }

  @Override
  OtlpJson.Schema buildJsonSchema() {
    return OtlpJson.schema(ExportMetricsServiceRequest.getDescriptor());
  }


  /** The common columns followed by {@code extra}. */
  private static StructType point(StructField... extra) {
    DataType str = DataTypes.StringType;
    DataType big = DataTypes.LongType;
    StructField[] all = new StructField[COMMON + extra.length];
    int i = 0;
    all[i++] = f("item_path", str);
    all[i++] = f("resource_attributes", ATTRS);
    all[i++] = f("scope_name", str);
    all[i++] = f("scope_version", str);
    all[i++] = f("metric_name", str);
    all[i++] = f("metric_description", str);
    all[i++] = f("metric_unit", str);
    all[i++] = f("attributes", ATTRS);
    all[i++] = f("start_time_unix_nano", big);
    all[i++] = f("time_unix_nano", big);
    all[i++] = f("flags", DataTypes.IntegerType);
    if (i != COMMON) {
      throw new IllegalStateException("COMMON is " + COMMON + ", columns are " + i);
    }
    System.arraycopy(extra, 0, all, COMMON, extra.length);
    return DataTypes.createStructType(all);
  }

  private static StructType buildReturnType() {
    DataType str = DataTypes.StringType;
    DataType big = DataTypes.LongType;
    DataType dbl = DataTypes.DoubleType;
    DataType i32 = DataTypes.IntegerType;
    StructType exemplar =
        DataTypes.createStructType(
            new StructField[] {
              f("time_unix_nano", big),
              f("value", dbl),
              f("trace_id", str),
              f("span_id", str),
              f("filtered_attributes", ATTRS)
            });
    StructType quantile =
        DataTypes.createStructType(new StructField[] {f("quantile", dbl), f("value", dbl)});
    StructField exemplars = array("exemplars", exemplar);
    StructField temporality = f("aggregation_temporality", str);
    StructField count = f("count", big);
    StructField sum = f("sum", dbl);
    StructField min = f("min", dbl);
    StructField max = f("max", dbl);
    return recordType(
        array("gauge", point(f("value", dbl), exemplars)),
        array("sum", point(f("value", dbl), exemplars, temporality, f("is_monotonic", DataTypes.BooleanType))),
        array(
            "histogram",
            point(
                count,
                sum,
                min,
                max,
                array("bucket_counts", big),
                array("explicit_bounds", dbl),
                temporality,
                exemplars)),
        array(
            "exp_histogram",
            point(
                count,
                sum,
                min,
                max,
                f("scale", i32),
                f("zero_count", big),
                f("zero_threshold", dbl),
                f("positive_offset", i32),
                array("positive_bucket_counts", big),
                f("negative_offset", i32),
                array("negative_bucket_counts", big),
                temporality,
                exemplars)),
        array("summary", point(count, sum, array("quantile_values", quantile))));
  }

  @Override
  protected ExportMetricsServiceRequest parse(byte[] value) throws InvalidProtocolBufferException {
    return ExportMetricsServiceRequest.parseFrom(value);
  }

  @Override
  protected int topLevelCount(ExportMetricsServiceRequest req) {
    return req.getResourceMetricsCount();
  }

  /** Per-record state: the output arrays and what the common columns of the current metric are. */
  private static final class Ctx {
    final DecodeStats stats = new DecodeStats();
    final Rejects rejects = new Rejects();
    final List<Row> gauge = new ArrayList<>();
    final List<Row> sum = new ArrayList<>();
    final List<Row> histogram = new ArrayList<>();
    final List<Row> expHistogram = new ArrayList<>();
    final List<Row> summary = new ArrayList<>();
    Map<String, String> resourceAttrs;
    String scopeName;
    String scopeVersion;
    String metricName;
    String metricDescription;
    String metricUnit;
    /** {@code resource_metrics[i].scope_metrics[j].metrics[k].data_points[} */
    String pointPrefix;
  }

  @Override
  protected Row decode(ExportMetricsServiceRequest req) {
    Ctx c = new Ctx();
    List<ResourceMetrics> rmList = req.getResourceMetricsList();
    for (int r = 0, nr = rmList.size(); r < nr; r++) {
      ResourceMetrics rm = rmList.get(r);
      c.resourceAttrs = attributes.toMap(rm.getResource().getAttributesList(), c.stats);
      List<ScopeMetrics> smList = rm.getScopeMetricsList();
      for (int s = 0, ns = smList.size(); s < ns; s++) {
        ScopeMetrics sm = smList.get(s);
        InstrumentationScope scope = sm.getScope();
        c.scopeName = scope.getName();
        c.scopeVersion = scope.getVersion();
        String metricPrefix = "resource_metrics[" + r + "].scope_metrics[" + s + "].metrics[";
        List<Metric> mList = sm.getMetricsList();
        for (int k = 0, nk = mList.size(); k < nk; k++) {
          Metric m = mList.get(k);
          String metricPath = metricPrefix + k + ']';
          c.metricName = m.getName();
          c.metricDescription = m.getDescription();
          c.metricUnit = m.getUnit();
          c.pointPrefix = metricPath + ".data_points[";
          switch (m.getDataCase()) {
            case GAUGE:
              gauge(c, m.getGauge().getDataPointsList());
              break;
            case SUM:
              sum(c, m.getSum());
              break;
            case HISTOGRAM:
              histogram(c, m.getHistogram());
              break;
            case EXPONENTIAL_HISTOGRAM:
              expHistogram(c, m.getExponentialHistogram());
              break;
            case SUMMARY:
              summary(c, m.getSummary().getDataPointsList());
              break;
            case DATA_NOT_SET:
            default:
              c.rejects.add(
                  "no_data",
                  metricPath,
                  "metric '"
                      + c.metricName
                      + "' has none of gauge, sum, histogram, exponential_histogram, summary");
          }
        }
      }
    }
    return result(
        c.stats,
        c.rejects,
        orEmpty(c.gauge),
        orEmpty(c.sum),
        orEmpty(c.histogram),
        orEmpty(c.expHistogram),
        orEmpty(c.summary));
  }

  /** A data point element of {@code COMMON + extra} columns with the common ones filled. */
  private Object[] common(
      Ctx c, int index, int extra, List<KeyValue> attrs, long start, long time, int flags) {
    Object[] row = new Object[COMMON + extra];
    row[0] = c.pointPrefix + index + ']';
    row[1] = c.resourceAttrs;
    row[2] = c.scopeName;
    row[3] = c.scopeVersion;
    row[4] = c.metricName;
    row[5] = c.metricDescription;
    row[6] = c.metricUnit;
    row[7] = attributes.toMap(attrs, c.stats);
    row[8] = start;
    row[9] = time;
    row[10] = flags;
    return row;
  }

  private Object[] number(Ctx c, int index, NumberDataPoint p, int extra) {
    Object[] row =
        common(c, index, extra, p.getAttributesList(), p.getStartTimeUnixNano(), p.getTimeUnixNano(), p.getFlags());
    switch (p.getValueCase()) {
      case AS_DOUBLE:
        row[COMMON] = p.getAsDouble();
        break;
      case AS_INT:
        row[COMMON] = (double) p.getAsInt();
        break;
      default:
        row[COMMON] = null;
    }
    row[COMMON + 1] = exemplars(c, p.getExemplarsList());
    return row;
  }

  private void gauge(Ctx c, List<NumberDataPoint> points) {
    for (int i = 0, n = points.size(); i < n; i++) {
      c.gauge.add(RowFactory.create(number(c, i, points.get(i), 2)));
    }
  }

  private void sum(Ctx c, Sum sum) {
    String temporality = temporality(sum.getAggregationTemporalityValue());
    Boolean monotonic = sum.getIsMonotonic();
    List<NumberDataPoint> points = sum.getDataPointsList();
    for (int i = 0, n = points.size(); i < n; i++) {
      Object[] row = number(c, i, points.get(i), 4);
      row[COMMON + 2] = temporality;
      row[COMMON + 3] = monotonic;
      c.sum.add(RowFactory.create(row));
    }
  }

  private void histogram(Ctx c, Histogram h) {
    String temporality = temporality(h.getAggregationTemporalityValue());
    List<HistogramDataPoint> points = h.getDataPointsList();
    for (int i = 0, n = points.size(); i < n; i++) {
      HistogramDataPoint p = points.get(i);
      Object[] row =
          common(c, i, 8, p.getAttributesList(), p.getStartTimeUnixNano(), p.getTimeUnixNano(), p.getFlags());
      int j = COMMON;
      row[j++] = p.getCount();
      row[j++] = p.hasSum() ? p.getSum() : null;
      row[j++] = p.hasMin() ? p.getMin() : null;
      row[j++] = p.hasMax() ? p.getMax() : null;
      row[j++] = p.getBucketCountsList();
      row[j++] = p.getExplicitBoundsList();
      row[j++] = temporality;
      row[j] = exemplars(c, p.getExemplarsList());
      c.histogram.add(RowFactory.create(row));
    }
  }

  private void expHistogram(Ctx c, ExponentialHistogram h) {
    String temporality = temporality(h.getAggregationTemporalityValue());
    List<ExponentialHistogramDataPoint> points = h.getDataPointsList();
    for (int i = 0, n = points.size(); i < n; i++) {
      ExponentialHistogramDataPoint p = points.get(i);
      Object[] row =
          common(c, i, 13, p.getAttributesList(), p.getStartTimeUnixNano(), p.getTimeUnixNano(), p.getFlags());
      ExponentialHistogramDataPoint.Buckets pos = p.getPositive();
      ExponentialHistogramDataPoint.Buckets neg = p.getNegative();
      int j = COMMON;
      row[j++] = p.getCount();
      row[j++] = p.hasSum() ? p.getSum() : null;
      row[j++] = p.hasMin() ? p.getMin() : null;
      row[j++] = p.hasMax() ? p.getMax() : null;
      row[j++] = p.getScale();
      row[j++] = p.getZeroCount();
      row[j++] = p.getZeroThreshold();
      row[j++] = pos.getOffset();
      row[j++] = pos.getBucketCountsList();
      row[j++] = neg.getOffset();
      row[j++] = neg.getBucketCountsList();
      row[j++] = temporality;
      row[j] = exemplars(c, p.getExemplarsList());
      c.expHistogram.add(RowFactory.create(row));
    }
  }

  private void summary(Ctx c, List<SummaryDataPoint> points) {
    for (int i = 0, n = points.size(); i < n; i++) {
      SummaryDataPoint p = points.get(i);
      Object[] row =
          common(c, i, 3, p.getAttributesList(), p.getStartTimeUnixNano(), p.getTimeUnixNano(), p.getFlags());
      row[COMMON] = p.getCount();
      row[COMMON + 1] = p.getSum();
      row[COMMON + 2] = quantiles(p.getQuantileValuesList());
      c.summary.add(RowFactory.create(row));
    }
  }

  private static List<Row> quantiles(List<SummaryDataPoint.ValueAtQuantile> qs) {
    int n = qs.size();
    if (n == 0) {
      return Collections.emptyList();
    }
    List<Row> out = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      SummaryDataPoint.ValueAtQuantile q = qs.get(i);
      out.add(RowFactory.create(q.getQuantile(), q.getValue()));
    }
    return out;
  }

  private List<Row> exemplars(Ctx c, List<Exemplar> exemplars) {
    int n = exemplars.size();
    if (n == 0) {
      return Collections.emptyList();
    }
    List<Row> out = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      Exemplar e = exemplars.get(i);
      Double value;
      switch (e.getValueCase()) {
        case AS_DOUBLE:
          value = e.getAsDouble();
          break;
        case AS_INT:
          value = (double) e.getAsInt();
          break;
        default:
          value = null;
      }
      out.add(
          RowFactory.create(
              e.getTimeUnixNano(),
              value,
              Hex.of(e.getTraceId()),
              Hex.of(e.getSpanId()),
              attributes.toMap(e.getFilteredAttributesList(), c.stats)));
    }
    return out;
  }

  private static String temporality(int value) {
    return value >= 0 && value < TEMPORALITIES.length ? TEMPORALITIES[value] : TEMPORALITIES[0];
  }
}
