"""CSV import: source bytes, columns, rows, the record stream, the writer and its CLI."""
