"""Article text to sentences and summaries: sentence splitting, furniture detection, the summarizers."""
