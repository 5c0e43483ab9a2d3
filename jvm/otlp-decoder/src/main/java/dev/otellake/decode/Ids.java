package dev.otellake.decode;

import com.google.protobuf.ByteString;

/** Checks and renders OTLP trace/span ids (fixed-length byte strings). */
public final class Ids {
  /** Bytes in a trace id. */
  public static final int TRACE_ID_BYTES = 16;
  /** Bytes in a span id. */
  public static final int SPAN_ID_BYTES = 8;

  private Ids() {}

  /** Whether every byte of {@code id} is zero (true when empty). */
  public static boolean allZero(ByteString id) {
    for (int i = 0, n = id.size(); i < n; i++) {
      if (id.byteAt(i) != 0) {
        return false;
      }
    }
    return true;
  }

  /**
   * For an id that must be present (a span's own ids): null when {@code id} has {@code expected}
   * bytes and is not all zero; otherwise what is wrong.
   */
  public static String requiredProblem(String name, ByteString id, int expected) {
    int n = id.size();
    if (n == expected) {
      if (!allZero(id)) {
        return null;
      }
      return name + " has " + n + " bytes, all zero; expected " + expected + " bytes, not all zero";
    }
    return name + " has " + n + " bytes; expected " + expected + " bytes, not all zero";
  }

  /**
   * For an optional id (a log record's trace context): null when {@code id} is empty, all zero
   * (both meaning "absent") or has {@code expected} bytes; otherwise what is wrong.
   */
  public static String optionalProblem(String name, ByteString id, int expected) {
    int n = id.size();
    if (n == expected || allZero(id)) {
      return null;
    }
    return name + " has " + n + " bytes; expected " + expected + " bytes, or empty / all zero";
  }

  /** Lowercase hex of an optional id; {@code ""} when empty or all zero. */
  public static String optionalHex(ByteString id) {
    return allZero(id) ? "" : Hex.of(id);
  }

  /** Joins two problems, either of which may be null; null when both are. */
  public static String join(String a, String b) {
    return a == null ? b : b == null ? a : a + " | " + b;
  }
}
