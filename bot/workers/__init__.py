"""Background work the app supervises: inbound events, outbound platform calls, backend sync."""
