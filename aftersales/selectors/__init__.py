"""Read queries of after-sales for the console, the API and the dashboard."""
