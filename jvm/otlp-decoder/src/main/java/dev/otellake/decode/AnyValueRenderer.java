package dev.otellake.decode;

import com.google.protobuf.ByteString;
import io.opentelemetry.proto.common.v1.AnyValue;
import io.opentelemetry.proto.common.v1.ArrayValue;
import io.opentelemetry.proto.common.v1.KeyValue;
import io.opentelemetry.proto.common.v1.KeyValueList;
import java.util.Base64;
import java.util.List;

/**
 * Renders an OTLP {@link AnyValue} as one string, the way every otel-lake decoder stores
 * attribute values and log bodies.
 *
 * <p>Top level: string as is; bool {@code true}/{@code false}; int base 10; double via
 * {@link Double#toString(double)} ({@code NaN}, {@code Infinity}, {@code -Infinity}); bytes as
 * standard padded base64; no value set gives {@code ""}; arrays and kvlists as compact JSON.
 *
 * <p>Inside JSON: strings as JSON strings (non-ASCII kept as is; {@code "}, {@code \} and
 * control characters escaped), bools, ints as numbers, finite doubles as numbers via
 * {@link Double#toString(double)}, non-finite doubles as the strings {@code "NaN"},
 * {@code "Infinity"}, {@code "-Infinity"}, bytes as base64 strings, no value as {@code null};
 * kvlist keys in wire order, duplicates kept. Nesting depth is unlimited (recursive; the protobuf
 * parser already caps message nesting at 100).
 *
 * <p>{@link #truncate} cuts a rendered value to a UTF-8 byte budget.
 */
public final class AnyValueRenderer {
  private static final char[] HEX = "0123456789abcdef".toCharArray();
  private static final Base64.Encoder BASE64 = Base64.getEncoder();
  /** Suffix start appended to a truncated value: U+2026 then the count of dropped bytes. */
  public static final String TRUNCATED_PREFIX = "\u2026[truncated ";

  private AnyValueRenderer() {}

  /** The top-level rendering of {@code v} (never null). */
  public static String render(AnyValue v) {
    switch (v.getValueCase()) {
      case STRING_VALUE:
        return v.getStringValue();
      case BOOL_VALUE:
        return v.getBoolValue() ? "true" : "false";
      case INT_VALUE:
        return Long.toString(v.getIntValue());
      case DOUBLE_VALUE:
        return Double.toString(v.getDoubleValue());
      case BYTES_VALUE:
        return base64(v.getBytesValue());
      case ARRAY_VALUE:
      case KVLIST_VALUE: {
        StringBuilder sb = new StringBuilder(64);
        appendJson(sb, v);
        return sb.toString();
      }
      case STRING_VALUE_STRINDEX: // an index into a profiles dictionary; meaningless here
      default:
        return "";
    }
  }

  /** Appends {@code v} as a JSON value. */
  public static void appendJson(StringBuilder sb, AnyValue v) {
    switch (v.getValueCase()) {
      case STRING_VALUE:
        appendJsonString(sb, v.getStringValue());
        return;
      case BOOL_VALUE:
        sb.append(v.getBoolValue() ? "true" : "false");
        return;
      case INT_VALUE:
        sb.append(v.getIntValue());
        return;
      case DOUBLE_VALUE: {
        double d = v.getDoubleValue();
        if (Double.isFinite(d)) {
          sb.append(Double.toString(d));
        } else {
          sb.append('"').append(Double.toString(d)).append('"');
        }
        return;
      }
      case BYTES_VALUE:
        sb.append('"').append(base64(v.getBytesValue())).append('"');
        return;
      case ARRAY_VALUE: {
        ArrayValue arr = v.getArrayValue();
        int n = arr.getValuesCount();
        sb.append('[');
        for (int i = 0; i < n; i++) {
          if (i > 0) {
            sb.append(',');
          }
          appendJson(sb, arr.getValues(i));
        }
        sb.append(']');
        return;
      }
      case KVLIST_VALUE: {
        KeyValueList kvl = v.getKvlistValue();
        List<KeyValue> kvs = kvl.getValuesList();
        int n = kvs.size();
        sb.append('{');
        for (int i = 0; i < n; i++) {
          if (i > 0) {
            sb.append(',');
          }
          KeyValue kv = kvs.get(i);
          appendJsonString(sb, kv.getKey());
          sb.append(':');
          appendJson(sb, kv.getValue());
        }
        sb.append('}');
        return;
      }
      case STRING_VALUE_STRINDEX: // an index into a profiles dictionary; meaningless here
      default:
        sb.append("null");
    }
  }

  /** Appends {@code s} as a JSON string literal; only {@code "}, {@code \} and chars below 0x20 are escaped. */
  public static void appendJsonString(StringBuilder sb, String s) {
    sb.append('"');
    int n = s.length();
    int start = 0;
    for (int i = 0; i < n; i++) {
      char c = s.charAt(i);
      if (c >= 0x20 && c != '"' && c != '\\') {
        continue;
      }
      if (i > start) {
        sb.append(s, start, i);
      }
      switch (c) {
        case '"':
          sb.append("\\\"");
          break;
        case '\\':
          sb.append("\\\\");
          break;
        case '\b':
          sb.append("\\b");
          break;
        case '\f':
          sb.append("\\f");
          break;
        case '\n':
          sb.append("\\n");
          break;
        case '\r':
          sb.append("\\r");
          break;
        case '\t':
          sb.append("\\t");
          break;
        default:
          sb.append("\\u00").append(HEX[c >>> 4]).append(HEX[c & 0x0f]);
      }
      start = i + 1;
    }
    if (start == 0) {
      sb.append(s);
    } else if (start < n) {
      sb.append(s, start, n);
    }
    sb.append('"');
  }

  /** Standard base64 with padding. */
  public static String base64(ByteString b) {
    return b.isEmpty() ? "" : BASE64.encodeToString(b.toByteArray());
  }

  /** UTF-8 byte length of {@code s} as {@code s.getBytes(UTF_8)} would produce (a lone surrogate counts 1, as '?'). */
  public static int utf8Length(String s) {
    int n = s.length();
    int bytes = n;
    for (int i = 0; i < n; i++) {
      char c = s.charAt(i);
      if (c < 0x80) {
        continue;
      }
      if (c < 0x800) {
        bytes += 1;
      } else if (Character.isSurrogate(c)) {
        if (Character.isHighSurrogate(c) && i + 1 < n && Character.isLowSurrogate(s.charAt(i + 1))) {
          bytes += 2; // 2 chars -> 4 bytes
          i++;
        }
      } else {
        bytes += 2;
      }
    }
    return bytes;
  }

  /**
   * Returns {@code s} when its UTF-8 form fits in {@code maxBytes}; otherwise its first
   * {@code maxBytes} bytes cut back to a character boundary followed by
   * {@code …[truncated N bytes]} (N = original bytes − kept bytes), and counts the truncation
   * in {@code stats}. {@code maxBytes <= 0} disables truncation.
   */
  public static String truncate(String s, int maxBytes, DecodeStats stats) {
    int n = s.length();
    if (maxBytes <= 0 || (long) n * 3 <= maxBytes) {
      return s; // a UTF-16 char never takes more than 3 UTF-8 bytes
    }
    int bytes = 0;
    int cutChar = -1;
    int keptBytes = 0;
    for (int i = 0; i < n; i++) {
      char c = s.charAt(i);
      int w;
      int chars = 1;
      if (c < 0x80) {
        w = 1;
      } else if (c < 0x800) {
        w = 2;
      } else if (Character.isSurrogate(c)) {
        if (Character.isHighSurrogate(c) && i + 1 < n && Character.isLowSurrogate(s.charAt(i + 1))) {
          w = 4;
          chars = 2;
        } else {
          w = 1;
        }
      } else {
        w = 3;
      }
      if (cutChar < 0 && bytes + w > maxBytes) {
        cutChar = i;
        keptBytes = bytes;
      }
      bytes += w;
      i += chars - 1;
    }
    if (cutChar < 0) {
      return s;
    }
    stats.truncatedValues++;
    return new StringBuilder(cutChar + 32)
        .append(s, 0, cutChar)
        .append(TRUNCATED_PREFIX)
        .append(bytes - keptBytes)
        .append(" bytes]")
        .toString();
  }
}
