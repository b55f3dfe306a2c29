"""Exams: papers (fixed or drawn from banks), attempts, answers and grading."""
