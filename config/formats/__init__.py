"""Date and time formats of the console, the same in every language it ships: one unambiguous
form (2026-11-25 10:57), common in Chinese back offices, for lists, pages and printouts alike."""
