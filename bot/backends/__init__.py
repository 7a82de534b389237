"""Connectors to the company's reimbursement backend: a signed JSON webhook, or Hesi (合思)."""
