"""The inner APIs of a data centre: the standard kinds an app may rely on, and (later) their
binding into a job's container."""
