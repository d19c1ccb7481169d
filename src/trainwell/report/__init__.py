"""Reports: terminal tables and the HTML comparison report."""
