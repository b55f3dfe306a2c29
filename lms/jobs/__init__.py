"""Jobs: long work with visible progress. See :mod:`lms.jobs.services`."""
