"""Question banks: questions with versions, pluggable question types, and file formats."""
