"""One row at a time to a CSV, for the measurement scripts that resume from their own output."""

import csv


def append_row(path, columns, row):
    """Append ``row`` (a dict) to the CSV at ``path``, writing the header first if the file is new."""
    new = not path.exists()
    with path.open("a", newline="") as fh:
        writer = csv.DictWriter(fh, columns)
        if new:
            writer.writeheader()
        writer.writerow(row)
    print(row, flush=True)
