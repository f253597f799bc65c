"""The survey-summary example app: uses two inner APIs of the data centre it runs in."""
