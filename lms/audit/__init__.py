"""The audit log: every sensitive change, who made it, when, before and after."""
