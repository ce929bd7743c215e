"""Pure evaluation measures (no model runtime, no SQL, no HTTP): bias shares with bootstrap
intervals, answer correctness and faithfulness, sentence-to-passage attachment."""
