"""Where articles come from: seed files, RSS/Atom feeds (guarded fetch, parse, main-text extraction)."""
