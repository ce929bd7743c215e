"""HTTP glue shared by the two web front doors, the API (``api/``) and the pages
(``web/``), so that neither imports the other."""
