package dev.otellake.decode;

import com.google.protobuf.ByteString;
import com.google.protobuf.CodedInputStream;
import com.google.protobuf.CodedOutputStream;
import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.WireFormat;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;

/**
 * Rewrites a serialized message so that every {@code string} field holds valid UTF-8.
 *
 * <p>protobuf-java rejects a whole proto3 message when one string field has invalid UTF-8. This
 * walks the wire format with the message's descriptor (strings read as bytes, as a descriptor
 * whose strings were {@code bytes} would), replaces each malformed sequence by U+FFFD (Java's
 * decoder does exactly that), and leaves every other byte as it was, unknown fields included.
 */
final class Utf8Repair {
  private Utf8Repair() {}

  /** The repaired message and how many string values were repaired. */
  static final class Result {
    final byte[] value;
    final int repaired;

    Result(byte[] value, int repaired) {
      this.value = value;
      this.repaired = repaired;
    }
  }

  static Result repair(byte[] value, Descriptor type) throws IOException {
    int[] count = new int[1];
    byte[] out = rewrite(value, type, count, 0);
    return new Result(out, count[0]);
  }

  private static byte[] rewrite(byte[] value, Descriptor type, int[] count, int depth)
      throws IOException {
    if (depth > 200) {
      throw new IOException("message nested deeper than 200 levels");
    }
    CodedInputStream in = CodedInputStream.newInstance(value);
    ByteArrayOutputStream buffer = new ByteArrayOutputStream(value.length + 16);
    CodedOutputStream out = CodedOutputStream.newInstance(buffer);
    while (true) {
      int tag = in.readTag();
      if (tag == 0) {
        break;
      }
      int number = WireFormat.getTagFieldNumber(tag);
      FieldDescriptor field = type.findFieldByNumber(number);
      if (WireFormat.getTagWireType(tag) != WireFormat.WIRETYPE_LENGTH_DELIMITED || field == null) {
        in.skipField(tag, out); // copies the field as it was
        continue;
      }
      ByteString bytes = in.readBytes();
      if (field.getType() == FieldDescriptor.Type.STRING && !bytes.isValidUtf8()) {
        bytes = ByteString.copyFromUtf8(bytes.toString(StandardCharsets.UTF_8));
        count[0]++;
      } else if (field.getType() == FieldDescriptor.Type.MESSAGE) {
        bytes =
            ByteString.copyFrom(rewrite(bytes.toByteArray(), field.getMessageType(), count, depth + 1));
      }
      out.writeBytes(number, bytes);
    }
    out.flush();
    return buffer.toByteArray();
  }
}
