"""Sign-in, sign-out, passwords and throttling."""
