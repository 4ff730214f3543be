"""CSV import of contacts and companies: reading, mapping, judging rows, and the bulk engine."""
