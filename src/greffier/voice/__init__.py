"""Speech synthesis without the model: French text written out as it is read aloud
(``french``), text cut into sentences and markdown made speakable (``text``), audio
encoded as it comes (``encoding``). Pure code: no HTTP, no SQL, no model."""
