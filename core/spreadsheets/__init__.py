"""The one spreadsheet pipeline every import and export goes through (docs/architecture.md,
"Spreadsheets"). Each app keeps its own domain (which columns its files have, what a row means,
which service writes it); the machinery is here:

- `cells`: reading one cell as the person meant it (full-width characters folded, Excel's floats
  and dates, yes/no, choices by code or by name in any language);
- `columns`: column declarations with English and Chinese headers, the export's heading and other
  aliases, and how a header row is matched to them;
- `reading`: the one reader of .xlsx and .csv files, row by row with Excel's row numbers;
- `problems`: what is wrong with a file, by row and column, and the copy with an errors column;
- `imports`: the stages of an import kept as a job (check, confirm, import: all rows or none);
- `templates`: template workbooks to fill in;
- `writing`: the one writer of .xlsx and .csv files;
- `exports`: exports of a console list, at once or as a background job;
- `console`: the console pages imports and exports share."""
