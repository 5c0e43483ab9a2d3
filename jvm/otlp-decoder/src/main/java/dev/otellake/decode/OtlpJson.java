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
  static final int BAD_HEX_KEEP = 256;

  static final byte[] NO_BYTES = new byte[0];

  /** Value of a hex digit byte (any case), -1 for every other byte. */
  static final byte[] HEX_VALUE = new byte[256];

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
  static final int ID_NONE = 0;
  static final int ID_HEX = 1;
  static final int ID_HEX_CHECKED = 2;

  /** Integer range classes. */
  static final int R_INT32 = 0;
  static final int R_UINT32 = 1;
  static final int R_INT64 = 2;
  static final int R_UINT64 = 3;

  static final BigInteger[] RANGE_MIN = {
    BigInteger.valueOf(Integer.MIN_VALUE),
    BigInteger.valueOf(Integer.MIN_VALUE),
    BigInteger.valueOf(Long.MIN_VALUE),
    BigInteger.valueOf(Long.MIN_VALUE)
  };
  static final BigInteger[] RANGE_MAX = {
    BigInteger.valueOf(Integer.MAX_VALUE),
    BigInteger.valueOf(0xFFFFFFFFL),
    BigInteger.valueOf(Long.MAX_VALUE),
    BigInteger.ONE.shiftLeft(64).subtract(BigInteger.ONE)
  };

  /** One field of a message. */
  static final class Field {
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
      this.tag = ProtoOutput.varint(((long) fd.getNumber() << 3) | wireType);
    }
  }

  /** One message type: its fields by JSON name and by proto name (open addressing on the UTF-8 bytes). */
  static final class Msg {
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
}
