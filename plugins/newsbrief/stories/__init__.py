"""Stories: the same event told by several outlets, found by near-duplicate clustering."""
