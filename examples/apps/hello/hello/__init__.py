"""The hello example app: greets `name` after `delay` seconds."""
