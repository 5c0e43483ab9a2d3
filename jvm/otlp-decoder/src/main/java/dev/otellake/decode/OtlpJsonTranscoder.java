package dev.otellake.decode;

import static dev.otellake.decode.OtlpJson.*;

import com.google.protobuf.ByteString;
import com.google.protobuf.Descriptors.EnumValueDescriptor;
import com.google.protobuf.Descriptors.FieldDescriptor;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;

/**
 * Transcodes one OTLP/JSON record to the protobuf encoding of the same request, in one pass
 * driven by {@link OtlpJson}'s tables (what it accepts: see {@link OtlpJson}); not thread-safe,
 * one per record.
 */
final class OtlpJsonTranscoder {
  private final byte[] in;
  private final int end;
  private int pos;
  private final ProtoOutput out;
  /** Fields of the top-level object, and how many of them were unknown. */
  int topFields;
  int topUnknown;

  OtlpJsonTranscoder(byte[] json) {
    this.in = json;
    this.end = json.length;
    this.out = new ProtoOutput(Math.max(64, json.length >>> 1));
  }

  /** The protobuf encoding of the record's top-level object. */
  byte[] run(Schema schema) throws DecodeException {
    if (end >= 3 && (in[0] & 0xff) == 0xef && (in[1] & 0xff) == 0xbb && (in[2] & 0xff) == 0xbf) {
      pos = 3;
    }
    skipWs();
    if (pos >= end) {
      throw new DecodeException("no JSON value (only whitespace)");
    }
    if (in[pos] != '{') {
      throw new DecodeException(
          "the JSON value is " + kind(in[pos]) + ", expected an object (offset " + pos + ")");
    }
    object(schema.root, 0, true);
    skipWs();
    if (pos < end) {
      throw fail("unexpected data after the top-level object");
    }
    return out.toByteArray();
  }

  private static String kind(byte c) {
    switch (c) {
      case '[':
        return "an array";
      case '"':
        return "a string";
      case 't':
      case 'f':
        return "a boolean";
      case 'n':
        return "null";
      default:
        return (c == '-' || (c >= '0' && c <= '9')) ? "a number" : "not JSON";
    }
  }

  private DecodeException fail(String what) {
    return new DecodeException(what + " (offset " + pos + ")");
  }

  private DecodeException fail(Field f, String what) {
    return new DecodeException("field " + f.jsonName + ": " + what + " (offset " + pos + ")");
  }

  private void skipWs() {
    while (pos < end) {
      byte c = in[pos];
      if (c == ' ' || c == '\n' || c == '\r' || c == '\t') {
        pos++;
      } else {
        return;
      }
    }
  }

  private byte peek() throws DecodeException {
    if (pos >= end) {
      throw fail("unexpected end of input");
    }
    return in[pos];
  }

  private void expect(char c) throws DecodeException {
    if (peek() != c) {
      throw fail("expected '" + c + "'");
    }
    pos++;
  }

  /** At '{': one object of message {@code m}, its fields appended to the output. */
  private void object(Msg m, int depth, boolean top) throws DecodeException {
    if (!enter(++depth, '}')) {
      return;
    }
    do {
      toFieldName();
      Field f = key(m);
      toFieldValue();
      if (top) {
        topFields++;
      }
      if (f == null) {
        if (top) {
          topUnknown++;
        }
        skipValue(depth);
      } else if (peek() == 'n') {
        literal("null");
      } else if (f.repeated) {
        array(f, depth);
      } else {
        value(f, depth);
      }
    } while (next('}'));
  }

  /** Inside an object, before a member: to its name's opening quote. */
  private void toFieldName() throws DecodeException {
    skipWs();
    if (peek() != '"') {
      throw fail("expected a field name");
    }
  }

  /** After a member's name: past the ':' to its value. */
  private void toFieldValue() throws DecodeException {
    skipWs();
    expect(':');
    skipWs();
  }

  /**
   * At a container's opening bracket, {@code depth} levels deep: consumes it and the white
   * space after; false (its {@code close} consumed too) when the container is empty.
   */
  private boolean enter(int depth, char close) throws DecodeException {
    if (depth > MAX_DEPTH) {
      throw fail("nesting deeper than " + MAX_DEPTH);
    }
    pos++;
    skipWs();
    if (peek() == close) {
      pos++;
      return false;
    }
    return true;
  }

  /** After a member or element: true at ',' (another follows), false at {@code close}. */
  private boolean next(char close) throws DecodeException {
    skipWs();
    byte c = peek();
    pos++;
    if (c == close) {
      return false;
    }
    if (c != ',') {
      pos--;
      throw fail("expected ',' or '" + close + "'");
    }
    return true;
  }

  /** At '"': reads a field name; the field, or null when {@code m} has none of that name. */
  private Field key(Msg m) throws DecodeException {
    int start = pos + 1;
    int h = 0;
    for (int i = start; i < end; i++) {
      byte c = in[i];
      if (c == '"') {
        pos = i + 1;
        return m.find(in, start, i, h);
      }
      h = 31 * h + c;
      if (c == '\\' || (c >= 0 && c < 0x20)) {
        break;
      }
    }
    byte[] name = string().getBytes(StandardCharsets.UTF_8);
    return m.find(name, 0, name.length);
  }

  private void array(Field f, int depth) throws DecodeException {
    if (peek() != '[') {
      throw fail(f, "expected an array");
    }
    if (!enter(++depth, ']')) {
      return;
    }
    do {
      skipWs();
      if (peek() == 'n') {
        throw fail(f, "null array element");
      }
      value(f, depth);
    } while (next(']'));
  }

  /** One (non-null) value of field {@code f}, appended with its tag. */
  private void value(Field f, int depth) throws DecodeException {
    switch (f.type) {
      case MESSAGE: {
        if (peek() != '{') {
          throw fail(f, "expected an object");
        }
        out.put(f.tag);
        int mark = out.beginLength();
        object(f.msg, depth, false);
        out.endLength(mark);
        return;
      }
      case STRING:
        if (peek() != '"') {
          throw fail(f, "expected a string");
        }
        out.put(f.tag);
        stringBytes();
        return;
      case BYTES:
        if (peek() != '"') {
          throw fail(f, "expected a string");
        }
        bytes(f);
        return;
      case BOOL: {
        byte c = peek();
        boolean v;
        if (c == 't') {
          literal("true");
          v = true;
        } else if (c == 'f') {
          literal("false");
          v = false;
        } else {
          throw fail(f, "expected true or false");
        }
        out.put(f.tag);
        out.putByte(v ? 1 : 0);
        return;
      }
      case ENUM: {
        long v;
        if (peek() == '"') {
          int start = pos;
          String s = string();
          EnumValueDescriptor ev = f.fd.getEnumType().findValueByName(s);
          if (ev != null) {
            v = ev.getNumber();
          } else if (!s.isEmpty() && isNumber(s.getBytes(StandardCharsets.ISO_8859_1), 0, s.length())) {
            byte[] b = s.getBytes(StandardCharsets.ISO_8859_1);
            v = integer(f, b, 0, b.length, R_INT32, start);
          } else {
            return; // an enum value name this version does not know: leave the field unset
          }
        } else {
          int start = pos;
          int stop = numberToken();
          v = integer(f, in, start, stop, R_INT32, start);
        }
        out.put(f.tag);
        out.putVarint(v);
        return;
      }
      case DOUBLE:
      case FLOAT: {
        double d = floating(f);
        out.put(f.tag);
        if (f.type == FieldDescriptor.Type.DOUBLE) {
          out.putFixed64(Double.doubleToRawLongBits(d));
        } else {
          out.putFixed32(Float.floatToRawIntBits((float) d));
        }
        return;
      }
      default:
        integral(f);
    }
  }

  /** An integer field: a number token or a string holding one. */
  private void integral(Field f) throws DecodeException {
    int range;
    switch (f.type) {
      case INT32:
      case SINT32:
      case SFIXED32:
        range = R_INT32;
        break;
      case UINT32:
      case FIXED32:
        range = R_UINT32;
        break;
      case INT64:
      case SINT64:
      case SFIXED64:
        range = R_INT64;
        break;
      case UINT64:
      case FIXED64:
        range = R_UINT64;
        break;
      default:
        throw fail(f, "unsupported field type " + f.type);
    }
    int at = pos;
    long v;
    if (peek() == '"') {
      int start = pos + 1;
      int stop = plainString();
      if (stop < 0) {
        byte[] b = string().getBytes(StandardCharsets.UTF_8);
        v = integer(f, b, 0, b.length, range, at);
      } else {
        v = integer(f, in, start, stop, range, at);
      }
    } else {
      int stop = numberToken();
      v = integer(f, in, at, stop, range, at);
    }
    out.put(f.tag);
    switch (f.type) {
      case INT32:
        out.putVarint((int) v);
        break;
      case UINT32:
        out.putVarint(v & 0xFFFFFFFFL);
        break;
      case SINT32: {
        int i = (int) v;
        out.putVarint(((i << 1) ^ (i >> 31)) & 0xFFFFFFFFL);
        break;
      }
      case SFIXED32:
      case FIXED32:
        out.putFixed32((int) v);
        break;
      case INT64:
      case UINT64:
        out.putVarint(v);
        break;
      case SINT64:
        out.putVarint((v << 1) ^ (v >> 63));
        break;
      default: // FIXED64, SFIXED64
        out.putFixed64(v);
    }
  }

  /** The value of the integer text {@code b[from, to)} in range class {@code range}, as two's-complement bits. */
  private long integer(Field f, byte[] b, int from, int to, int range, int at) throws DecodeException {
    int i = from;
    boolean neg = i < to && b[i] == '-';
    if (neg) {
      i++;
    }
    int digits = to - i;
    if (digits > 0 && digits <= 19 && (digits == 1 || b[i] != '0')) {
      long v = 0;
      boolean plain = true;
      for (int k = i; k < to; k++) {
        int d = b[k] - '0';
        if (d < 0 || d > 9) {
          plain = false;
          break;
        }
        v = v * 10 + d;
      }
      if (digits == 19 && v < 1_000_000_000_000_000_000L) {
        plain = false; // above Long.MAX_VALUE (wrapped): the exact path below
      }
      if (plain) {
        if (neg) {
          v = -v;
        }
        if (range <= R_UINT32
            && (v < Integer.MIN_VALUE || v > (range == R_INT32 ? Integer.MAX_VALUE : 0xFFFFFFFFL))) {
          throw outOfRange(f, b, from, to, at);
        }
        return v;
      }
    }
    if (!isNumber(b, from, to)) {
      pos = at;
      throw fail(f, "not a number: " + quote(b, from, to));
    }
    BigDecimal bd = new BigDecimal(new String(b, from, to - from, StandardCharsets.ISO_8859_1));
    if (bd.signum() == 0) {
      return 0;
    }
    if (bd.precision() - bd.scale() > 21) {
      throw outOfRange(f, b, from, to, at);
    }
    BigInteger bi;
    try {
      bi = bd.toBigIntegerExact();
    } catch (ArithmeticException e) {
      pos = at;
      throw fail(f, "not an integer: " + quote(b, from, to));
    }
    if (bi.compareTo(RANGE_MIN[range]) < 0 || bi.compareTo(RANGE_MAX[range]) > 0) {
      throw outOfRange(f, b, from, to, at);
    }
    return bi.longValue();
  }

  private DecodeException outOfRange(Field f, byte[] b, int from, int to, int at) {
    pos = at;
    return fail(f, "out of range for " + f.type.name().toLowerCase() + ": " + quote(b, from, to));
  }

  private double floating(Field f) throws DecodeException {
    int at = pos;
    byte[] b = in;
    int from;
    int to;
    if (peek() == '"') {
      from = pos + 1;
      to = plainString();
      if (to < 0) {
        b = string().getBytes(StandardCharsets.UTF_8);
        from = 0;
        to = b.length;
      }
      String s = new String(b, from, to - from, StandardCharsets.ISO_8859_1);
      switch (s) {
        case "NaN":
          return Double.NaN;
        case "Infinity":
          return Double.POSITIVE_INFINITY;
        case "-Infinity":
          return Double.NEGATIVE_INFINITY;
        default:
          if (!isNumber(b, from, to)) {
            pos = at;
            throw fail(f, "not a number: " + quote(b, from, to));
          }
          return Double.parseDouble(s);
      }
    }
    from = pos;
    to = numberToken();
    return Double.parseDouble(new String(b, from, to - from, StandardCharsets.ISO_8859_1));
  }

  /** At a number: checks its syntax, moves past it and returns its end. */
  private int numberToken() throws DecodeException {
    int start = pos;
    int i = pos;
    while (i < end) {
      byte c = in[i];
      if ((c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E') {
        i++;
      } else {
        break;
      }
    }
    if (!isNumber(in, start, i)) {
      throw fail(i == start ? "expected a value" : "malformed number");
    }
    pos = i;
    return i;
  }

  /** Whether {@code b[from, to)} is a JSON number: {@code -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?}. */
  private static boolean isNumber(byte[] b, int from, int to) {
    int i = from;
    if (i < to && b[i] == '-') {
      i++;
    }
    if (i >= to) {
      return false;
    }
    if (b[i] == '0') {
      i++;
    } else if (b[i] >= '1' && b[i] <= '9') {
      while (i < to && b[i] >= '0' && b[i] <= '9') {
        i++;
      }
    } else {
      return false;
    }
    if (i < to && b[i] == '.') {
      i++;
      int s = i;
      while (i < to && b[i] >= '0' && b[i] <= '9') {
        i++;
      }
      if (i == s) {
        return false;
      }
    }
    if (i < to && (b[i] == 'e' || b[i] == 'E')) {
      i++;
      if (i < to && (b[i] == '+' || b[i] == '-')) {
        i++;
      }
      int s = i;
      while (i < to && b[i] >= '0' && b[i] <= '9') {
        i++;
      }
      if (i == s) {
        return false;
      }
    }
    return i == to;
  }

  /**
   * At '"': when the string has no escapes, moves past it and returns the index of its closing
   * quote (the content starts after the opening one); otherwise leaves {@code pos} and returns -1.
   */
  private int plainString() throws DecodeException {
    for (int i = pos + 1; i < end; i++) {
      byte c = in[i];
      if (c == '"') {
        pos = i + 1;
        return i;
      }
      if (c == '\\') {
        return -1;
      }
      if (c >= 0 && c < 0x20) {
        pos = i;
        throw fail("control character in a string");
      }
    }
    throw fail("unterminated string");
  }

  /** At '"': appends the string's UTF-8 bytes, length-prefixed. */
  private void stringBytes() throws DecodeException {
    int start = pos + 1;
    int stop = plainString();
    if (stop >= 0) {
      out.putVarint(stop - start);
      out.put(in, start, stop - start);
    } else {
      byte[] b = string().getBytes(StandardCharsets.UTF_8);
      out.putVarint(b.length);
      out.put(b, 0, b.length);
    }
  }

  /** At '"': a bytes field (hex for ids, base64 otherwise), appended with its tag. */
  private void bytes(Field f) throws DecodeException {
    int at = pos;
    byte[] b = in;
    int from = pos + 1;
    int to = plainString();
    if (to < 0) {
      b = string().getBytes(StandardCharsets.UTF_8);
      from = 0;
      to = b.length;
    }
    byte[] v;
    if (f.id != ID_NONE) {
      v = hex(b, from, to);
      if (v == null) {
        if (f.id == ID_HEX) {
          pos = at;
          throw fail(f, "not a hex id: " + quote(b, from, to));
        }
        int keep = Math.min(to - from, BAD_HEX_KEEP);
        v = new byte[BAD_HEX_MARKER.size() + keep];
        BAD_HEX_MARKER.copyTo(v, 0);
        System.arraycopy(b, from, v, BAD_HEX_MARKER.size(), keep);
      }
    } else {
      v = base64(b, from, to);
      if (v == null) {
        pos = at;
        throw fail(f, "invalid base64: " + quote(b, from, to));
      }
    }
    out.put(f.tag);
    out.putVarint(v.length);
    out.put(v, 0, v.length);
  }

  private static byte[] hex(byte[] b, int from, int to) {
    int n = to - from;
    if ((n & 1) != 0) {
      return null;
    }
    if (n == 0) {
      return NO_BYTES;
    }
    byte[] v = new byte[n >>> 1];
    for (int i = from, j = 0; i < to; i += 2, j++) {
      int hi = HEX_VALUE[b[i] & 0xff];
      int lo = HEX_VALUE[b[i + 1] & 0xff];
      if ((hi | lo) < 0) {
        return null;
      }
      v[j] = (byte) ((hi << 4) | lo);
    }
    return v;
  }

  private static byte[] base64(byte[] b, int from, int to) {
    if (from == to) {
      return NO_BYTES;
    }
    boolean url = false;
    for (int i = from; i < to; i++) {
      if (b[i] == '-' || b[i] == '_') {
        url = true;
        break;
      }
    }
    try {
      return (url ? Base64.getUrlDecoder() : Base64.getDecoder())
          .decode(Arrays.copyOfRange(b, from, to));
    } catch (IllegalArgumentException e) {
      return null;
    }
  }

  /** At '"': the decoded string (any escapes resolved), {@code pos} moved past it. */
  private String string() throws DecodeException {
    int i = pos + 1;
    int seg = i;
    StringBuilder sb = null;
    while (true) {
      if (i >= end) {
        throw fail("unterminated string");
      }
      byte c = in[i];
      if (c == '"') {
        String s;
        if (sb == null) {
          s = new String(in, seg, i - seg, StandardCharsets.UTF_8);
        } else {
          sb.append(new String(in, seg, i - seg, StandardCharsets.UTF_8));
          s = sb.toString();
        }
        pos = i + 1;
        return s;
      }
      if (c >= 0 && c < 0x20) {
        pos = i;
        throw fail("control character in a string");
      }
      if (c != '\\') {
        i++;
        continue;
      }
      if (sb == null) {
        sb = new StringBuilder(i - seg + 16);
      }
      sb.append(new String(in, seg, i - seg, StandardCharsets.UTF_8));
      i = escape(sb, i);
      seg = i;
    }
  }

  /** The escape at {@code in[i]} (a backslash) appended to {@code sb}; the index after it. */
  private int escape(StringBuilder sb, int i) throws DecodeException {
    if (i + 1 >= end) {
      throw fail("unterminated string");
    }
    byte e = in[i + 1];
    i += 2;
    switch (e) {
      case '"':
        sb.append('"');
        break;
      case '\\':
        sb.append('\\');
        break;
      case '/':
        sb.append('/');
        break;
      case 'b':
        sb.append('\b');
        break;
      case 'f':
        sb.append('\f');
        break;
      case 'n':
        sb.append('\n');
        break;
      case 'r':
        sb.append('\r');
        break;
      case 't':
        sb.append('\t');
        break;
      case 'u': {
        if (i + 4 > end) {
          throw fail("unterminated string");
        }
        int v = 0;
        for (int k = 0; k < 4; k++) {
          int d = Character.digit(in[i + k], 16);
          if (d < 0 || in[i + k] < 0) {
            pos = i;
            throw fail("bad \\u escape");
          }
          v = (v << 4) | d;
        }
        sb.append((char) v);
        i += 4;
        break;
      }
      default:
        pos = i - 2;
        throw fail("bad escape");
    }
    return i;
  }

  private void literal(String word) throws DecodeException {
    int n = word.length();
    if (pos + n > end) {
      throw fail("expected " + word);
    }
    for (int k = 0; k < n; k++) {
      if (in[pos + k] != word.charAt(k)) {
        throw fail("expected " + word);
      }
    }
    pos += n;
  }

  /** Skips one value of an unknown field (checking its syntax). */
  private void skipValue(int depth) throws DecodeException {
    byte c = peek();
    switch (c) {
      case '{':
        if (!enter(++depth, '}')) {
          return;
        }
        do {
          toFieldName();
          skipString();
          toFieldValue();
          skipValue(depth);
        } while (next('}'));
        return;
      case '[':
        if (!enter(++depth, ']')) {
          return;
        }
        do {
          skipWs();
          skipValue(depth);
        } while (next(']'));
        return;
      case '"':
        skipString();
        return;
      case 't':
        literal("true");
        return;
      case 'f':
        literal("false");
        return;
      case 'n':
        literal("null");
        return;
      default:
        numberToken();
    }
  }

  private void skipString() throws DecodeException {
    if (plainString() < 0) {
      string();
    }
  }

  private static String quote(byte[] b, int from, int to) {
    int n = Math.min(to - from, 64);
    StringBuilder sb = new StringBuilder(n + 8);
    AnyValueRenderer.appendJsonString(sb, new String(b, from, n, StandardCharsets.UTF_8));
    if (n < to - from) {
      sb.append('\u2026');
    }
    return sb.toString();
  }
}
