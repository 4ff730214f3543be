"""Importing leads from CSV files (the command, the web page), with the contact importer's reject report."""
