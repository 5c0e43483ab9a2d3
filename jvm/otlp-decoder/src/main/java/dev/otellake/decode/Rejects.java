package dev.otellake.decode;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;

/**
 * The {@code rejects} of one record: items that could not land (each a {@link
 * RecordDecoder#REJECT} row). Allocates nothing until the first reject. Not thread-safe: one per
 * call.
 */
public final class Rejects {
  private List<Row> rows;

  /** Adds one reject. */
  public void add(String reason, String itemPath, String detail) {
    if (rows == null) {
      rows = new ArrayList<>();
    }
    rows.add(RowFactory.create(reason, itemPath, detail));
  }

  /** The rejects so far (never null). */
  public List<Row> rows() {
    return rows == null ? Collections.emptyList() : rows;
  }
}
