"""Research assistant: ask questions about a reading list of papers."""
