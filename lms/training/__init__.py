"""Training administration: programmes, the training ledger (培训台账), assignments."""
