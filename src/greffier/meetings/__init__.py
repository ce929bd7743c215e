"""What turns a recording's transcript into something to read, with no model runtime, no
SQL and no HTTP: speakers told apart (diarization), the turn headings of the indexed
transcript, subtitles, office documents, and the parsing and layout of minutes. The
services in ``greffier.services`` run these on stored meetings."""
