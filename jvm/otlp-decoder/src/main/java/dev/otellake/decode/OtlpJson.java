package dev.otellake.decode;

import com.google.protobuf.ByteString;
import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.Descriptors.EnumValueDescriptor;
import com.google.protobuf.Descriptors.FieldDescriptor;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Base64;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * OTLP/JSON to protobuf wire format: a small streaming transcoder driven by the message
 * descriptors, so a JSON record is parsed by the very same generated {@code parseFrom} (and then
 * flattened by the very same decoder code) as a protobuf record.
 *
 * <p>What it accepts (the protobuf JSON mapping with the OTLP exceptions, as the Collector's
 * {@code otlp_json} encoding writes it): field names in lowerCamelCase or as in the proto; trace
 * and span ids ({@code bytes} fields named {@code trace_id}, {@code span_id}, {@code
 * parent_span_id}) as hex strings, any case; other {@code bytes} as base64 (standard or URL-safe,
 * padding optional); 64-bit integers as decimal strings or numbers; enums as integers or value
 * names (an unknown name leaves the field unset); doubles as numbers or the strings {@code NaN},
 * {@code Infinity}, {@code -Infinity} (or a number in a string); {@code null} for "not set";
 * unknown fields ignored. Integer ranges: signed 32-bit fields take {@code [-2^31, 2^31)},
 * unsigned 32-bit ones {@code [-2^31, 2^32)}, signed 64-bit ones {@code [-2^63, 2^63)} and
 * unsigned 64-bit ones {@code [-2^63, 2^64)}; a negative value for an unsigned field or one
 * above {@code 2^63} for a fixed64 one is stored as the same two's-complement bits the protobuf
 * encoding carries. A number with a fraction or exponent is accepted for an integer field when
 * its value is integral.
 *
 * <p>A hex id that is not hex (odd length or a non-hex digit) in a field the decoder checks per
 * item (see {@link #schema}) is written as {@link #BAD_HEX_MARKER} followed by the offending
 * text: never 8 or 16 bytes long and never all zero, so the decoder's id check rejects that item
 * ({@code invalid_id}) and {@link #badHexText} recovers the text for the reject's detail. In any
 * other id field it fails the record.
 *
 * <p>Syntax is strict JSON (RFC 8259; a leading UTF-8 BOM is skipped); nesting deeper than
 * {@value #MAX_DEPTH} levels is refused. Strings are copied to the wire as the raw UTF-8 bytes
 * when they hold no escapes, so invalid UTF-8 is then refused by the protobuf parser.
 */
final class OtlpJson {
  /** Deepest JSON nesting (objects and arrays) accepted; protobuf's own limit is 100 messages. */
  static final int MAX_DEPTH = 256;

  /** Leads the bytes of an id field whose JSON text was not hex (21 bytes: never a valid length). */
  static final ByteString BAD_HEX_MARKER = ByteString.copyFromUtf8("\u0000otlp-json:not-hex:");

  /** The offending text kept after {@link #BAD_HEX_MARKER}, in UTF-8 bytes. */
  private static final int BAD_HEX_KEEP = 256;

  private static final byte[] NO_BYTES = new byte[0];

  /** Value of a hex digit byte (any case), -1 for every other byte. */
  private static final byte[] HEX_VALUE = new byte[256];

  static {
    Arrays.fill(HEX_VALUE, (byte) -1);
    for (int c = '0'; c <= '9'; c++) {
      HEX_VALUE[c] = (byte) (c - '0');
    }
    for (int c = 'a'; c <= 'f'; c++) {
      HEX_VALUE[c] = (byte) (c - 'a' + 10);
      HEX_VALUE[c - 'a' + 'A'] = (byte) (c - 'a' + 10);
    }
  }

  private OtlpJson() {}

  /** A JSON record that cannot be turned into the request message. */
  static final class DecodeException extends Exception {
    private static final long serialVersionUID = 1L;

    DecodeException(String message) {
      super(message, null, false, false);
    }
  }

  // ------------------------------------------------------------------ schema

  /** The transcoding tables of one request type. Immutable, shared by all threads. */
  static final class Schema {
    final Msg root;

    Schema(Msg root) {
      this.root = root;
    }
  }

  /** Id handling of a bytes field. */
  private static final int ID_NONE = 0;
  private static final int ID_HEX = 1;
  private static final int ID_HEX_CHECKED = 2;

  /** Integer range classes. */
  private static final int R_INT32 = 0;
  private static final int R_UINT32 = 1;
  private static final int R_INT64 = 2;
  private static final int R_UINT64 = 3;

  private static final BigInteger[] RANGE_MIN = {
    BigInteger.valueOf(Integer.MIN_VALUE),
    BigInteger.valueOf(Integer.MIN_VALUE),
    BigInteger.valueOf(Long.MIN_VALUE),
    BigInteger.valueOf(Long.MIN_VALUE)
  };
  private static final BigInteger[] RANGE_MAX = {
    BigInteger.valueOf(Integer.MAX_VALUE),
    BigInteger.valueOf(0xFFFFFFFFL),
    BigInteger.valueOf(Long.MAX_VALUE),
    BigInteger.ONE.shiftLeft(64).subtract(BigInteger.ONE)
  };

  /** One field of a message. */
  private static final class Field {
    final FieldDescriptor fd;
    final String jsonName;
    final FieldDescriptor.Type type;
    final boolean repeated;
    final byte[] tag;
    final int id;
    Msg msg;

    Field(FieldDescriptor fd, int id) {
      this.fd = fd;
      this.jsonName = fd.getJsonName();
      this.type = fd.getType();
      this.repeated = fd.isRepeated();
      this.id = id;
      int wireType;
      switch (type) {
        case DOUBLE:
        case FIXED64:
        case SFIXED64:
          wireType = 1;
          break;
        case FLOAT:
        case FIXED32:
        case SFIXED32:
          wireType = 5;
          break;
        case STRING:
        case BYTES:
        case MESSAGE:
          wireType = 2;
          break;
        default:
          wireType = 0;
      }
      this.tag = varint(((long) fd.getNumber() << 3) | wireType);
    }
  }

  /** One message type: its fields by JSON name and by proto name (open addressing on the UTF-8 bytes). */
  private static final class Msg {
    final String fullName;
    byte[][] names;
    Field[] fields;
    int mask;

    Msg(String fullName) {
      this.fullName = fullName;
    }

    void index(Map<String, Field> byName) {
      int size = Integer.highestOneBit(Math.max(4, byName.size() * 4) - 1) << 1;
      names = new byte[size][];
      fields = new Field[size];
      mask = size - 1;
      for (Map.Entry<String, Field> e : byName.entrySet()) {
        byte[] n = e.getKey().getBytes(StandardCharsets.UTF_8);
        int raw = hash(n, 0, n.length);
        int h = (raw ^ (raw >>> 16)) & mask;
        while (names[h] != null) {
          h = (h + 1) & mask;
        }
        names[h] = n;
        fields[h] = e.getValue();
      }
    }

    Field find(byte[] b, int from, int to) {
      return find(b, from, to, hash(b, from, to));
    }

    /** {@link #find} with {@code rawHash} the running {@code 31 * h + byte} hash of {@code b[from, to)}. */
    Field find(byte[] b, int from, int to, int rawHash) {
      int len = to - from;
      int h = (rawHash ^ (rawHash >>> 16)) & mask;
      while (true) {
        byte[] n = names[h];
        if (n == null) {
          return null;
        }
        if (n.length == len && Arrays.equals(n, 0, len, b, from, to)) {
          return fields[h];
        }
        h = (h + 1) & mask;
      }
    }

    private static int hash(byte[] b, int from, int to) {
      int h = 0;
      for (int i = from; i < to; i++) {
        h = 31 * h + b[i];
      }
      return h;
    }
  }

  /**
   * The tables for request type {@code root}. Every {@code bytes} field named {@code trace_id},
   * {@code span_id} or {@code parent_span_id} takes hex; those in {@code checkedIds} (the ids the
   * decoder rejects items for) take bad hex as a marked value instead of failing the record.
   */
  static Schema schema(Descriptor root, FieldDescriptor... checkedIds) {
    Set<String> checked = new HashSet<>();
    for (FieldDescriptor fd : checkedIds) {
      checked.add(fd.getFullName());
    }
    return new Schema(build(root, checked, new HashMap<>()));
  }

  private static Msg build(Descriptor d, Set<String> checked, Map<String, Msg> done) {
    Msg m = done.get(d.getFullName());
    if (m != null) {
      return m;
    }
    m = new Msg(d.getFullName());
    done.put(d.getFullName(), m);
    Map<String, Field> byName = new HashMap<>();
    List<FieldDescriptor> fds = d.getFields();
    for (FieldDescriptor fd : fds) {
      int id = ID_NONE;
      if (fd.getType() == FieldDescriptor.Type.BYTES) {
        String n = fd.getName();
        if (n.equals("trace_id") || n.equals("span_id") || n.equals("parent_span_id")) {
          id = checked.contains(fd.getFullName()) ? ID_HEX_CHECKED : ID_HEX;
        }
      }
      Field f = new Field(fd, id);
      byName.put(fd.getName(), f);
      byName.put(fd.getJsonName(), f);
    }
    m.index(byName);
    for (Field f : byName.values()) {
      if (f.type == FieldDescriptor.Type.MESSAGE && f.msg == null) {
        f.msg = build(f.fd.getMessageType(), checked, done);
      }
    }
    return m;
  }

  /** The JSON text an id field held when it was not hex, or null when {@code id} is not such a value. */
  static String badHexText(ByteString id) {
    if (id.size() < BAD_HEX_MARKER.size() || !id.startsWith(BAD_HEX_MARKER)) {
      return null;
    }
    return id.substring(BAD_HEX_MARKER.size()).toStringUtf8();
  }

  // ------------------------------------------------------------------ transcoding

  /** Transcodes one JSON record; not thread-safe, one per record. */
  static final class Transcoder {
    private final byte[] in;
    private final int end;
    private int pos;
    private byte[] out;
    private int len;
    /** Fields of the top-level object, and how many of them were unknown. */
    int topFields;
    int topUnknown;

    Transcoder(byte[] json) {
      this.in = json;
      this.end = json.length;
      this.out = new byte[Math.max(64, json.length >>> 1)];
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
      return Arrays.copyOf(out, len);
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
      if (++depth > MAX_DEPTH) {
        throw fail("nesting deeper than " + MAX_DEPTH);
      }
      pos++;
      skipWs();
      if (peek() == '}') {
        pos++;
        return;
      }
      while (true) {
        skipWs();
        if (peek() != '"') {
          throw fail("expected a field name");
        }
        Field f = key(m);
        skipWs();
        expect(':');
        skipWs();
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
        skipWs();
        byte c = peek();
        pos++;
        if (c == '}') {
          return;
        }
        if (c != ',') {
          pos--;
          throw fail("expected ',' or '}'");
        }
      }
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
      if (++depth > MAX_DEPTH) {
        throw fail("nesting deeper than " + MAX_DEPTH);
      }
      pos++;
      skipWs();
      if (peek() == ']') {
        pos++;
        return;
      }
      while (true) {
        skipWs();
        if (peek() == 'n') {
          throw fail(f, "null array element");
        }
        value(f, depth);
        skipWs();
        byte c = peek();
        pos++;
        if (c == ']') {
          return;
        }
        if (c != ',') {
          pos--;
          throw fail("expected ',' or ']'");
        }
      }
    }

    /** One (non-null) value of field {@code f}, appended with its tag. */
    private void value(Field f, int depth) throws DecodeException {
      switch (f.type) {
        case MESSAGE: {
          if (peek() != '{') {
            throw fail(f, "expected an object");
          }
          put(f.tag);
          int mark = beginLength();
          object(f.msg, depth, false);
          endLength(mark);
          return;
        }
        case STRING:
          if (peek() != '"') {
            throw fail(f, "expected a string");
          }
          put(f.tag);
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
          put(f.tag);
          ensure(1);
          out[len++] = (byte) (v ? 1 : 0);
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
          put(f.tag);
          putVarint(v);
          return;
        }
        case DOUBLE:
        case FLOAT: {
          double d = floating(f);
          put(f.tag);
          if (f.type == FieldDescriptor.Type.DOUBLE) {
            putFixed64(Double.doubleToRawLongBits(d));
          } else {
            putFixed32(Float.floatToRawIntBits((float) d));
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
      put(f.tag);
      switch (f.type) {
        case INT32:
          putVarint((int) v);
          break;
        case UINT32:
          putVarint(v & 0xFFFFFFFFL);
          break;
        case SINT32: {
          int i = (int) v;
          putVarint(((i << 1) ^ (i >> 31)) & 0xFFFFFFFFL);
          break;
        }
        case SFIXED32:
        case FIXED32:
          putFixed32((int) v);
          break;
        case INT64:
        case UINT64:
          putVarint(v);
          break;
        case SINT64:
          putVarint((v << 1) ^ (v >> 63));
          break;
        default: // FIXED64, SFIXED64
          putFixed64(v);
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
        putVarint(stop - start);
        put(in, start, stop - start);
      } else {
        byte[] b = string().getBytes(StandardCharsets.UTF_8);
        putVarint(b.length);
        put(b, 0, b.length);
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
      put(f.tag);
      putVarint(v.length);
      put(v, 0, v.length);
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
        seg = i;
      }
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
          if (++depth > MAX_DEPTH) {
            throw fail("nesting deeper than " + MAX_DEPTH);
          }
          pos++;
          skipWs();
          if (peek() == '}') {
            pos++;
            return;
          }
          while (true) {
            skipWs();
            if (peek() != '"') {
              throw fail("expected a field name");
            }
            skipString();
            skipWs();
            expect(':');
            skipWs();
            skipValue(depth);
            skipWs();
            byte d = peek();
            pos++;
            if (d == '}') {
              return;
            }
            if (d != ',') {
              pos--;
              throw fail("expected ',' or '}'");
            }
          }
        case '[':
          if (++depth > MAX_DEPTH) {
            throw fail("nesting deeper than " + MAX_DEPTH);
          }
          pos++;
          skipWs();
          if (peek() == ']') {
            pos++;
            return;
          }
          while (true) {
            skipWs();
            skipValue(depth);
            skipWs();
            byte d = peek();
            pos++;
            if (d == ']') {
              return;
            }
            if (d != ',') {
              pos--;
              throw fail("expected ',' or ']'");
            }
          }
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

    // -------------------------------------------------------------- output

    private void ensure(int n) {
      if (len + n > out.length) {
        out = Arrays.copyOf(out, Math.max(out.length << 1, len + n));
      }
    }

    private void put(byte[] b) {
      put(b, 0, b.length);
    }

    private void put(byte[] b, int from, int n) {
      ensure(n);
      System.arraycopy(b, from, out, len, n);
      len += n;
    }

    private void putVarint(long v) {
      ensure(10);
      while ((v & ~0x7FL) != 0) {
        out[len++] = (byte) ((v & 0x7F) | 0x80);
        v >>>= 7;
      }
      out[len++] = (byte) v;
    }

    private void putFixed32(int v) {
      ensure(4);
      out[len++] = (byte) v;
      out[len++] = (byte) (v >>> 8);
      out[len++] = (byte) (v >>> 16);
      out[len++] = (byte) (v >>> 24);
    }

    private void putFixed64(long v) {
      putFixed32((int) v);
      putFixed32((int) (v >>> 32));
    }

    /** Reserves one byte for a length prefix; returns its position for {@link #endLength}. */
    private int beginLength() {
      ensure(1);
      return len++;
    }

    /** Writes the length of everything after {@code mark} as its prefix (moving it when the varint needs more than one byte). */
    private void endLength(int mark) {
      int n = len - mark - 1;
      if (n < 0x80) {
        out[mark] = (byte) n;
        return;
      }
      byte[] prefix = varint(n);
      int extra = prefix.length - 1;
      ensure(extra);
      System.arraycopy(out, mark + 1, out, mark + 1 + extra, n);
      System.arraycopy(prefix, 0, out, mark, prefix.length);
      len += extra;
    }
  }

  private static byte[] varint(long v) {
    byte[] b = new byte[10];
    int n = 0;
    while ((v & ~0x7FL) != 0) {
      b[n++] = (byte) ((v & 0x7F) | 0x80);
      v >>>= 7;
    }
    b[n++] = (byte) v;
    return Arrays.copyOf(b, n);
  }
}
