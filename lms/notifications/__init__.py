"""Reminders: in-app notifications and the e-mail outbox."""
