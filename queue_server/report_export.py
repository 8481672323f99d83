"""CSV and XLSX files of a report's tables (queue_server.report_tables)."""

from __future__ import annotations

import csv
import io

from .report_tables import Table


def to_csv(table: Table) -> bytes:
    """One table as CSV in UTF-8 with a byte order mark, so Excel shows Indonesian text right."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(table.header)
    for row in table.rows:
        writer.writerow(["" if value is None else value for value in row])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def to_xlsx(tables: list[Table], title: str) -> bytes:
    """Every table on its own sheet, numbers as numbers (not text), headers bold."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    book.remove(book.active)
    for table in tables:
        sheet = book.create_sheet(table.name)
        sheet.append([title])
        sheet.append([table.title])
        sheet["A1"].font = Font(bold=True, size=13)
        sheet.append(table.header)
        for cell in sheet[3]:
            cell.font = Font(bold=True)
        for row in table.rows:
            sheet.append(row)
        sheet.column_dimensions["A"].width = max(12, min(60, max(
            (len(str(row[0])) for row in table.rows), default=10) + 2))
        sheet.freeze_panes = "B4"
    data = io.BytesIO()
    book.save(data)
    return data.getvalue()
