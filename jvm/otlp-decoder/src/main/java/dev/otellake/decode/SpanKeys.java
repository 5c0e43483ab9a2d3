package dev.otellake.decode;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.WireFormat;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

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
