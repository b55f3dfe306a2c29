"""Courses and learning: the catalogue, lessons, study time, completion."""
