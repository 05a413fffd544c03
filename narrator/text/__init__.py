"""Reading an essay: source, Markdown and plain-text parsing, markup, sentences,
normalization and the lexicon. Pure, except reading the file."""
