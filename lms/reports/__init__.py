"""The annual training report: the three targets, the tables HR files, the gap lists."""
