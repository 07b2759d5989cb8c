"""Stage 5, what is published: the charts (with their words in figure_text.toml), the
workbook, the SQLite database, the website (templates in web/), the release zips, the
citation and the typed pandas tables."""
