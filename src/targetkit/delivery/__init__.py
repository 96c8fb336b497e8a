"""The Delivery API: requests, responses, cookies, notifications and telemetry."""
